// An embedding index (the folder `mmt embed-collection` writes, laid out in
// pipelines/embedding_index_format.hpp) opened for exact search: the k stored
// embeddings most similar to each query, in one pass over every shard.
//
// Opening checks everything a search relies on, so a search cannot fail half-way:
// each shard's safetensors header (ops/top_k_dot.hpp reads its rows in place), its
// one float32 tensor "embeddings" [rows, dim] and the metadata model, dim and
// modality, the same in every shard; and manifest.jsonl, whose every embedded line
// names a shard and row that exist, each row exactly once. Shards and manifest are
// memory-mapped, never read whole into memory: what an index holds is bounded by the
// address space, and a million 512-d rows are searched at memory speed. As for every
// mapped reader, a file truncated by another process while the index is open ends
// the process with SIGBUS when the missing pages are touched.
#pragma once

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "mmt/core/dtype.hpp"
#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/json.hpp"
#include "mmt/io/mapped_file.hpp"
#include "mmt/io/safetensors.hpp"
#include "mmt/ops/top_k_dot.hpp"
#include "mmt/pipelines/embedding_index_format.hpp"

namespace mmt::pipelines {

// An input of the index and how similar it is to a query.
struct index_hit {
    std::string id;    // the manifest's "id" (a number is given in decimal)
    std::string path;  // the manifest's "path"
    float score = 0;   // cosine similarity, -1..1
};

class embedding_index {
public:
    // io_error when the folder, its manifest or a shard the manifest names cannot be
    // opened; format_error naming the file (and line) for anything malformed.
    explicit embedding_index(const std::filesystem::path& dir) : dir_(dir), manifest_(open_manifest(dir)) {
        for (std::size_t number : shard_numbers(dir)) open_shard(number);
        read_manifest();
    }

    const std::filesystem::path& dir() const { return dir_; }
    // The metadata every shard carries; empty and 0 for an index without shards.
    const std::string& model() const { return model_; }
    std::size_t dim() const { return dim_; }
    const std::string& modality() const { return modality_; }
    std::size_t size() const { return rows_; }      // embedded inputs
    std::size_t failed() const { return failed_; }  // manifest lines with an error

    // input_error unless `model` (index_format::model_name of the querying model's
    // folder) is the model the index was embedded with.
    void check_model(const std::string& model) const {
        if (!shards_.empty() && model != model_)
            fail<input_error>("index '", dir_.string(), "' holds embeddings of model '", model_, "', not of '", model,
                              "': search it with the model that embedded it");
    }

    // queries: [n, dim], unit rows. For each query the k inputs with the highest
    // cosine similarity, best first; of equal scores the one stored first (by shard,
    // then row) comes first.
    std::vector<std::vector<index_hit>> search(const tensor<2>& queries, std::size_t k) const {
        if (!shards_.empty() && queries.shape(1) != dim_)
            fail<shape_error>("index '", dir_.string(), "' holds ", dim_, "-d embeddings of model '", model_, "'; expected ", dim_,
                              "-d queries, got ", queries.shape(1), "-d");
        std::vector<ops::row_block> blocks;
        for (const shard& s : shards_) blocks.push_back({s.rows, s.lines.size()});
        std::vector<std::vector<index_hit>> out;
        for (const auto& best : ops::top_k_dot(queries.data(), queries.shape(0), dim_, blocks, k)) {
            std::vector<index_hit> hits;
            for (const ops::scored_row& s : best) hits.push_back(resolve(s));
            out.push_back(std::move(hits));
        }
        return out;
    }

private:
    struct shard {
        io::mapped_file file;
        const float* rows = nullptr;     // [lines.size(), dim] inside the mapping
        std::vector<std::size_t> lines;  // each row's line: its byte offset in the manifest
        std::size_t first = 0;           // position of row 0 among all rows
        std::size_t number = 0;          // its N in embeddings-N.safetensors
    };
    static constexpr std::size_t unlisted = std::numeric_limits<std::size_t>::max();

    static io::mapped_file open_manifest(const std::filesystem::path& dir) {
        if (!std::filesystem::is_directory(dir)) fail<io_error>("embedding index '", dir.string(), "' is not a folder");
        return io::mapped_file(dir / index_format::manifest_file);
    }

    // The numbers of the folder's shards, in order. A `--shard K/N` part holds a range of
    // them that need not start at 0; a folder of several parts, their union.
    static std::vector<std::size_t> shard_numbers(const std::filesystem::path& dir) {
        std::vector<std::size_t> numbers;
        const std::string prefix = "embeddings-", suffix = ".safetensors";
        for (const auto& entry : std::filesystem::directory_iterator(dir)) {
            const std::string name = entry.path().filename().string();
            if (name.size() <= prefix.size() + suffix.size() || name.compare(0, prefix.size(), prefix) != 0 ||
                name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
                continue;
            const std::string digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
            if (digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 18) continue;
            const std::size_t number = std::stoull(digits);
            if (index_format::shard_file(number) == name) numbers.push_back(number);
        }
        std::sort(numbers.begin(), numbers.end());
        return numbers;
    }

    void open_shard(std::size_t index) {
        const std::filesystem::path path = dir_ / index_format::shard_file(index);
        const io::safetensors_file header(path);
        const std::string where = path.string();
        if (!header.contains(index_format::embeddings_tensor))
            fail<format_error>(where, ": no tensor \"", index_format::embeddings_tensor, "\"; expected float32 [rows, dim]");
        const io::tensor_info& t = header.info(index_format::embeddings_tensor);
        if (t.dtype != dtype::f32 || t.shape.size() != 2 || t.shape[1] == 0)
            fail<format_error>(where, ": tensor \"", t.name, "\" is ", dtype_name(t.dtype), " ", io::shape_string(t.shape),
                               "; expected F32 [rows, dim] with dim > 0");
        const std::string model = metadata(header, index_format::model_key);
        const std::string dim = metadata(header, index_format::dim_key);
        const std::string modality = metadata(header, index_format::modality_key);
        if (dim != std::to_string(t.shape[1]))
            fail<format_error>(where, ": metadata \"", index_format::dim_key, "\" is \"", dim, "\", but the embeddings are ",
                               io::shape_string(t.shape));
        if (modality != "image" && modality != "text")
            fail<format_error>(where, ": metadata \"", index_format::modality_key, "\" is \"", modality, "\"; expected image or text");
        if (shards_.empty()) {
            model_ = model;
            dim_ = t.shape[1];
            modality_ = modality;
        } else if (model != model_ || t.shape[1] != dim_ || modality != modality_) {
            fail<format_error>(where, ": holds ", t.shape[1], "-d ", modality, " embeddings of model '", model, "', but ",
                               index_format::shard_file(shards_.front().number), " holds ", dim_, "-d ", modality_, " embeddings of model '",
                               model_, "'");
        }
        io::mapped_file file(path);
        const std::size_t begin = header.data_offset() + t.begin;
        if (file.size() < begin + t.nbytes)
            fail<io_error>(where, ": ", file.size(), " bytes, but its header needs ", begin + t.nbytes, ": truncated while it was opened?");
        if (begin % alignof(float) != 0)
            fail<format_error>(where, ": the embeddings start at byte ", begin, "; expected a multiple of ", alignof(float));
        const auto* rows = reinterpret_cast<const float*>(file.data() + begin);  // the mapping stays where it is when moved
        shards_.push_back({std::move(file), rows, std::vector<std::size_t>(t.shape[0], unlisted), rows_, index});
        by_number_[index] = shards_.size() - 1;
        rows_ += t.shape[0];
    }

    static std::string metadata(const io::safetensors_file& header, const char* key) {
        const auto it = header.metadata().find(key);
        if (it == header.metadata().end())
            fail<format_error>(header.path().string(), ": no metadata \"", key, "\"; an embedding index shard has ",
                               index_format::model_key, ", ", index_format::dim_key, " and ", index_format::modality_key);
        return it->second;
    }

    std::string_view line_at(std::size_t offset) const {
        const char* text = reinterpret_cast<const char*>(manifest_.data());
        const std::string_view rest(text + offset, manifest_.size() - offset);
        return rest.substr(0, rest.find('\n'));
    }

    // Every line: an embedded input's row is recorded, a failed input counted.
    void read_manifest() {
        const std::string file = (dir_ / index_format::manifest_file).string();
        std::size_t number = 0;
        for (std::size_t offset = 0; offset < manifest_.size(); offset += line_at(offset).size() + 1) {
            const std::string_view text = line_at(offset);
            const std::string where = file + " line " + std::to_string(++number);
            if (text.find_first_not_of(" \t\r") == std::string_view::npos) continue;
            const io::json line = io::parse_json(text, where);
            entry(line, where);  // checks id and path
            if (line.contains("error")) {
                ++failed_;
                continue;
            }
            const std::size_t shard_index = unsigned_field(line, "shard", where), row = unsigned_field(line, "row", where);
            const auto found = by_number_.find(shard_index);
            if (found == by_number_.end())
                fail<format_error>(where, ": shard ", shard_index, ", but ", index_format::shard_file(shard_index), " is missing (the index has ",
                                   shards_.size(), " shard", shards_.size() == 1 ? "" : "s", ")");
            shard& s = shards_[found->second];
            if (row >= s.lines.size())
                fail<format_error>(where, ": row ", row, " of ", index_format::shard_file(shard_index), ", which has ", s.lines.size(), " rows");
            if (s.lines[row] != unlisted)
                fail<format_error>(where, ": row ", row, " of ", index_format::shard_file(shard_index), " is listed twice, here and on line ",
                                   line_number(s.lines[row]));
            s.lines[row] = offset;
        }
        for (std::size_t i = 0; i < shards_.size(); ++i) {
            const auto missing = std::find(shards_[i].lines.begin(), shards_[i].lines.end(), unlisted);
            if (missing != shards_[i].lines.end())
                fail<format_error>((dir_ / index_format::shard_file(shards_[i].number)).string(), ": row ", missing - shards_[i].lines.begin(),
                                   " is on no line of ", index_format::manifest_file);
        }
    }

    std::size_t line_number(std::size_t offset) const {
        return 1 + std::size_t(std::count(manifest_.data(), manifest_.data() + offset, '\n'));
    }

    static std::size_t unsigned_field(const io::json& line, const char* key, const std::string& where) {
        const auto it = line.find(key);
        if (it == line.end() || !it->is_number_unsigned())
            fail<format_error>(where, ": \"", key, "\" is ", it == line.end() ? "missing" : it->dump(), "; expected a non-negative integer");
        return it->get<std::size_t>();
    }

    // A manifest line's id and path.
    static index_hit entry(const io::json& line, const std::string& where) {
        if (!line.is_object()) fail<format_error>(where, ": ", line.type_name(), "; expected an object {\"id\", \"path\", ...}");
        const auto id = line.find("id"), path = line.find("path");
        if (id == line.end() || !(id->is_string() || id->is_number_integer()))
            fail<format_error>(where, ": \"id\" is ", id == line.end() ? "missing" : id->dump(), "; expected a string or an integer");
        if (path == line.end() || !path->is_string())
            fail<format_error>(where, ": \"path\" is ", path == line.end() ? "missing" : path->dump(), "; expected a string");
        return {id->is_string() ? id->get<std::string>() : id->dump(), path->get<std::string>()};
    }

    index_hit resolve(const ops::scored_row& s) const {
        const auto after = std::upper_bound(shards_.begin(), shards_.end(), s.row, [](std::size_t row, const shard& sh) { return row < sh.first; });
        const shard& owner = *(after - 1);
        const std::size_t offset = owner.lines[s.row - owner.first];
        const std::string where = (dir_ / index_format::manifest_file).string();  // checked when opened
        index_hit hit = entry(io::parse_json(line_at(offset), where), where);
        hit.score = s.score;
        return hit;
    }

    std::filesystem::path dir_;
    io::mapped_file manifest_;
    std::vector<shard> shards_;
    std::map<std::size_t, std::size_t> by_number_;  // a shard's number -> its place in shards_
    std::string model_, modality_;
    std::size_t dim_ = 0, rows_ = 0, failed_ = 0;
};

}  // namespace mmt::pipelines
