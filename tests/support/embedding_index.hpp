// Embedding indexes written by the tests in the layout `mmt embed-collection`
// writes (pipelines/embedding_index_format.hpp): shards through safetensors_writer
// and a manifest of JSON lines.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "mmt/core/xtensor.hpp"
#include "mmt/io/json.hpp"
#include "mmt/io/safetensors.hpp"
#include "mmt/pipelines/embedding_index_format.hpp"
#include "support/files.hpp"

namespace mmt::test {

// dir/embeddings-NNNNN.safetensors for shard `index`: rows [n, dim] with the metadata of an index shard.
inline void write_index_shard(const std::filesystem::path& dir, std::size_t index, const tensor<2>& rows, const std::string& model,
                              const std::string& modality = "image") {
    namespace format = pipelines::index_format;
    io::safetensors_writer writer;
    writer.add(format::embeddings_tensor, rows);
    writer.set_metadata(format::model_key, model);
    writer.set_metadata(format::dim_key, std::to_string(rows.shape(1)));
    writer.set_metadata(format::modality_key, modality);
    writer.save(dir / format::shard_file(index));
}

// dir/manifest.jsonl with these lines.
inline void write_manifest(const std::filesystem::path& dir, const std::vector<io::json>& lines) {
    std::string text;
    for (const auto& line : lines) text += line.dump() + "\n";
    write_file(dir / pipelines::index_format::manifest_file, text);
}

struct index_input {
    std::string id, path;
};

// A whole index: the shards in order and a manifest listing every row of them, in
// order, as inputs[position] (position counted through the shards).
inline void write_index(const std::filesystem::path& dir, const std::vector<tensor<2>>& shards, const std::string& model,
                        const std::vector<index_input>& inputs) {
    std::vector<io::json> lines;
    for (std::size_t s = 0; s < shards.size(); ++s) {
        write_index_shard(dir, s, shards[s], model);
        for (std::size_t row = 0; row < shards[s].shape(0); ++row) {
            const index_input& input = inputs.at(lines.size());
            lines.push_back({{"id", input.id}, {"path", input.path}, {"shard", s}, {"row", row}});
        }
    }
    write_manifest(dir, lines);
}

}  // namespace mmt::test
