// A model's weights: one model.safetensors, or the shards listed by
// model.safetensors.index.json ({"weight_map": {tensor name: shard file}}).
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/io/json.hpp"
#include "mmt/io/open_error.hpp"
#include "mmt/io/safetensors.hpp"

namespace mmt::io {

class checkpoint {
public:
    // `path` is a model directory, a .safetensors file or a .safetensors.index.json file.
    static checkpoint open(const std::filesystem::path& path) {
        namespace fs = std::filesystem;
        if (fs::is_directory(path)) {
            if (fs::exists(path / "model.safetensors")) return open(path / "model.safetensors");
            if (fs::exists(path / "model.safetensors.index.json")) return open(path / "model.safetensors.index.json");
            for (const char* name : {"model.safetensors", "model.safetensors.index.json"})
                if (is_broken_link(path / name)) fail_broken_link(path / name);
            fail<io_error>("'", path.string(), "' has neither model.safetensors nor model.safetensors.index.json");
        }
        checkpoint ckpt;
        const std::string file = path.filename().string();
        if (file.size() > 5 && file.substr(file.size() - 5) == ".json") {
            ckpt.open_index(path);
        } else {
            ckpt.shards_.push_back(std::make_shared<safetensors_file>(path));
            for (const auto& name : ckpt.shards_.back()->names()) ckpt.where_[name] = 0;
        }
        return ckpt;
    }

    bool contains(const std::string& name) const { return where_.count(name) != 0; }
    std::vector<std::string> names() const {
        std::vector<std::string> out;
        for (const auto& [name, shard] : where_) out.push_back(name);
        return out;
    }
    const safetensors_file& file_of(const std::string& name) const {
        auto it = where_.find(name);
        if (it == where_.end()) fail<weight_error>("checkpoint has no tensor named '", name, "'");
        return *shards_[it->second];
    }
    const tensor_info& info(const std::string& name) const { return file_of(name).info(name); }
    std::string description() const {
        return shards_.size() == 1 ? shards_[0]->path().string() : index_path_ + " (" + std::to_string(shards_.size()) + " shards)";
    }

private:
    void open_index(const std::filesystem::path& index) {
        index_path_ = index.string();
        json j = read_json_file(index);
        auto map = j.find("weight_map");
        if (map == j.end() || !map->is_object()) fail<format_error>(index_path_, ": missing \"weight_map\" object");
        std::map<std::string, std::size_t> shard_ids;
        for (auto it = map->begin(); it != map->end(); ++it) {
            if (!it->is_string()) fail<format_error>(index_path_, ": weight_map entry '", it.key(), "' is not a file name");
            const auto shard = it->get<std::string>();
            if (shard.empty() || shard.find('/') != std::string::npos || shard == "..")
                fail<format_error>(index_path_, ": shard name '", shard, "' must be a file beside the index");
            auto [pos, inserted] = shard_ids.emplace(shard, shards_.size());
            if (inserted) shards_.push_back(std::make_shared<safetensors_file>(index.parent_path() / shard));
            if (!shards_[pos->second]->contains(it.key()))
                fail<weight_error>(index_path_, ": tensor '", it.key(), "' is listed in shard '", shard, "', which does not hold it");
            where_[it.key()] = pos->second;
        }
    }

    std::string index_path_;
    std::vector<std::shared_ptr<safetensors_file>> shards_;
    std::map<std::string, std::size_t> where_;
};

}  // namespace mmt::io
