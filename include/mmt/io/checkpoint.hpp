// A model's weights: one model.safetensors, or the shards listed by
// model.safetensors.index.json ({"weight_map": {tensor name: shard file}}); when
// neither is there, pytorch_model.bin or the shards of pytorch_model.bin.index.json
// (read by pytorch_checkpoint.hpp). Every file gives tensor_sources, and every
// tensor is read through the source that holds it.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/io/json.hpp"
#include "mmt/io/open_error.hpp"
#include "mmt/io/pytorch_checkpoint.hpp"
#include "mmt/io/safetensors.hpp"
#include "mmt/io/tensor_source.hpp"

namespace mmt::io {

class checkpoint {
public:
    // `path` is a model directory, a .safetensors or pytorch .bin (.pt, .pth) file, or
    // either's .index.json.
    static checkpoint open(const std::filesystem::path& path) {
        namespace fs = std::filesystem;
        if (fs::is_directory(path)) {
            static constexpr const char* files[] = {"model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                                                    "pytorch_model.bin.index.json"};
            for (const char* file : files)
                if (fs::exists(path / file)) return open(path / file);
            for (const char* file : files)
                if (is_broken_link(path / file)) fail_broken_link(path / file);
            fail<io_error>("'", path.string(), "' has none of model.safetensors, model.safetensors.index.json, "
                           "pytorch_model.bin, pytorch_model.bin.index.json");
        }
        if (!ends_with(path.filename().string(), ".json")) {
            checkpoint ckpt = from_sources(open_file(path), path.string());
            ckpt.files_.push_back(path);
            return ckpt;
        }
        checkpoint ckpt;
        ckpt.open_index(path);
        return ckpt;
    }

    // The tensors of sources already open (a file read into memory, say), described
    // as `description` in messages; a name in two sources is the later one's.
    static checkpoint from_sources(std::vector<std::shared_ptr<const tensor_source>> sources, std::string description) {
        checkpoint ckpt;
        for (auto& source : sources) {
            for (const auto& name : source->names()) ckpt.where_[name] = ckpt.shards_.size();
            ckpt.shards_.push_back(std::move(source));
        }
        ckpt.description_ = std::move(description);
        return ckpt;
    }

    bool contains(const std::string& name) const { return where_.count(name) != 0; }
    std::vector<std::string> names() const {
        std::vector<std::string> out;
        for (const auto& [name, shard] : where_) out.push_back(name);
        return out;
    }
    const tensor_source& file_of(const std::string& name) const {
        auto it = where_.find(name);
        if (it == where_.end()) fail<weight_error>("checkpoint has no tensor named '", name, "'");
        return *shards_[it->second];
    }
    const tensor_info& info(const std::string& name) const { return file_of(name).info(name); }
    const std::string& description() const { return description_; }

    // The files the tensors are read from (an index's shards; not the index itself).
    std::vector<std::filesystem::path> files() const { return files_; }

    // `key` of the files' metadata (safetensors' __metadata__; pytorch files have none): the
    // value all of them that have it agree on, or none.
    std::optional<std::string> metadata(const std::string& key) const {
        std::optional<std::string> value;
        for (const auto& shard : shards_) {
            const auto it = shard->metadata().find(key);
            if (it == shard->metadata().end()) continue;
            if (value && *value != it->second)
                fail<format_error>(description_, ": shards disagree on __metadata__ '", key, "': '", *value, "' and '", it->second, "'");
            value = it->second;
        }
        return value;
    }

private:
    static bool ends_with(const std::string& s, const std::string& suffix) {
        return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
    }

    // The tensor sources of one file: a pytorch checkpoint by its extension, else safetensors.
    static std::vector<std::shared_ptr<const tensor_source>> open_file(const std::filesystem::path& file) {
        const std::string name = file.filename().string();
        if (ends_with(name, ".bin") || ends_with(name, ".pt") || ends_with(name, ".pth")) {
            const auto sources = pytorch_checkpoint(file).sources();
            return {sources.begin(), sources.end()};
        }
        return {std::make_shared<safetensors_file>(file)};
    }

    void open_index(const std::filesystem::path& index) {
        const std::string where = index.string();
        json j = read_json_file(index);
        auto map = j.find("weight_map");
        if (map == j.end() || !map->is_object()) fail<format_error>(where, ": missing \"weight_map\" object");
        std::map<std::string, std::vector<std::size_t>> shard_sources;  // shard file: its sources in shards_
        for (auto it = map->begin(); it != map->end(); ++it) {
            if (!it->is_string()) fail<format_error>(where, ": weight_map entry '", it.key(), "' is not a file name");
            const auto shard = it->get<std::string>();
            if (shard.empty() || shard.find('/') != std::string::npos || shard == "..")
                fail<format_error>(where, ": shard name '", shard, "' must be a file beside the index");
            auto [pos, inserted] = shard_sources.emplace(shard, std::vector<std::size_t>{});
            if (inserted) {
                files_.push_back(index.parent_path() / shard);
                for (auto& source : open_file(index.parent_path() / shard)) {
                    pos->second.push_back(shards_.size());
                    shards_.push_back(std::move(source));
                }
            }
            std::size_t holder = shards_.size();
            for (const std::size_t s : pos->second)
                if (shards_[s]->contains(it.key())) holder = s;
            if (holder == shards_.size())
                fail<weight_error>(where, ": tensor '", it.key(), "' is listed in shard '", shard, "', which does not hold it");
            where_[it.key()] = holder;
        }
        description_ = where + " (" + std::to_string(shard_sources.size()) + " shards)";
    }

    std::string description_;
    std::vector<std::filesystem::path> files_;
    std::vector<std::shared_ptr<const tensor_source>> shards_;
    std::map<std::string, std::size_t> where_;
};

}  // namespace mmt::io
