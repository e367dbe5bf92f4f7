// The on-disk layout of an embedding index, as `mmt embed-collection` writes it
// and `mmt search --index` reads it. An index is a folder:
//   embeddings-00000.safetensors, embeddings-00001.safetensors, ...
//       one float32 tensor "embeddings" [rows, dim] of unit rows each, with the
//       metadata "model" (model_name below), "dim" and "modality" ("image" or "text");
//   manifest.jsonl
//       one line per input, in input order: {"id", "path", "shard", "row"} for an
//       embedded input, {"id", "path", "error"} for one that failed.
#pragma once

#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <string>

#include "mmt/io/json.hpp"

namespace mmt::pipelines::index_format {

inline constexpr const char* embeddings_tensor = "embeddings";
inline constexpr const char* manifest_file = "manifest.jsonl";
inline constexpr const char* model_key = "model";
inline constexpr const char* dim_key = "dim";
inline constexpr const char* modality_key = "modality";

// "embeddings-00042.safetensors" for shard 42.
inline std::string shard_file(std::size_t shard) {
    char name[48];
    std::snprintf(name, sizeof name, "embeddings-%05zu.safetensors", shard);
    return name;
}

// What names a model in an index, so a query embedded by another model is refused:
// config.json's "_name_or_path" (the hub name save_pretrained records) when it has
// one, else the model folder's own name.
inline std::string model_name(const std::filesystem::path& model_dir) {
    const auto config_path = model_dir / "config.json";
    const io::json config = io::read_json_file(config_path);
    std::string name;
    io::json_optional(config, "_name_or_path", name, config_path.string());
    if (!name.empty()) return name;
    const auto normal = model_dir.lexically_normal();
    return (normal.has_filename() ? normal : normal.parent_path()).filename().string();
}

}  // namespace mmt::pipelines::index_format
