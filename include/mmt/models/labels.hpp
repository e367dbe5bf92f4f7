// PretrainedConfig's labels (id2label, label2id, num_labels) and problem_type, read
// the way transformers reads them: the classification heads of every family share them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <map>
#include <string>

#include "mmt/core/error.hpp"
#include "mmt/io/json.hpp"

namespace mmt {

struct label_config {
    // Without id2label, num_labels (default 2) labels named LABEL_<i>.
    std::map<std::int64_t, std::string> id2label{{0, "LABEL_0"}, {1, "LABEL_1"}};
    std::map<std::string, std::int64_t> label2id{{"LABEL_0", 0}, {"LABEL_1", 1}};

    // "single_label_classification", "multi_label_classification", "regression", or ""
    // (unset: the pipelines decide by num_labels, as HF's do).
    std::string problem_type;

    // Outputs of a classifier: len(id2label), as HF's num_labels property.
    std::size_t num_labels() const { return id2label.size(); }

    // id2label[id], or a config_error naming `what` (e.g. the word) when the id has no entry.
    const std::string& label_of(std::int64_t id, const std::string& what) const {
        auto it = id2label.find(id);
        if (it == id2label.end()) {
            std::string known;
            for (const auto& [k, v] : id2label) known += (known.empty() ? "" : ", ") + std::to_string(k);
            fail<config_error>(what, ": label id ", id, " has no entry in config.json's id2label (ids: ", known, ")");
        }
        return it->second;
    }

    // PretrainedConfig.__init__: id2label wins (keys are JSON strings of ints); without it,
    // num_labels makes LABEL_0..LABEL_<n-1>. A num_labels that contradicts id2label is refused
    // rather than guessed at.
    void read_labels(const io::json& j, const std::string& where) {
        std::size_t num = 0;
        const bool has_num = j.contains("num_labels") && !j["num_labels"].is_null();
        if (has_num) num = io::json_required<std::size_t>(j, "num_labels", where);
        if (j.contains("id2label") && !j["id2label"].is_null()) {
            const io::json& map = j["id2label"];
            if (!map.is_object()) fail<config_error>(where, ": key \"id2label\" should be an object, got ", map.type_name());
            id2label.clear();
            for (const auto& [key, value] : map.items()) {
                std::size_t used = 0;
                long long id = -1;
                try {
                    id = std::stoll(key, &used);
                } catch (const std::exception&) {
                }
                if (used != key.size() || key.empty() || id < 0)
                    fail<config_error>(where, ": id2label key \"", key, "\" is not a label id (a non-negative integer)");
                if (!value.is_string())
                    fail<config_error>(where, ": id2label[\"", key, "\"] should be a label name, got ", value.dump());
                id2label[id] = value.get<std::string>();
            }
            if (has_num && num != id2label.size())
                fail<config_error>(where, ": \"num_labels\" is ", num, " but \"id2label\" has ", id2label.size(), " entries");
        } else if (has_num) {
            id2label.clear();
            for (std::size_t i = 0; i < num; ++i) id2label[std::int64_t(i)] = "LABEL_" + std::to_string(i);
        }
        if (id2label.empty()) fail<config_error>(where, ": \"id2label\" / \"num_labels\" give no labels, expected at least one");
        label2id.clear();
        for (const auto& [id, label] : id2label) label2id[label] = id;
        if (j.contains("label2id") && !j["label2id"].is_null())
            label2id = io::json_required<std::map<std::string, std::int64_t>>(j, "label2id", where);
        io::json_optional(j, "problem_type", problem_type, where);
        if (!problem_type.empty() && problem_type != "single_label_classification" && problem_type != "multi_label_classification" &&
            problem_type != "regression")
            fail<config_error>(where, ": \"problem_type\" is \"", problem_type,
                               "\", expected single_label_classification, multi_label_classification or regression");
    }
};

}  // namespace mmt
