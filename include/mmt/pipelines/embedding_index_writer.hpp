// Writing an embedding index (embedding_index_format.hpp) so that a run killed at
// any moment can be resumed without redoing or duplicating an input, and so that
// N processes can each write a part of one collection:
//   - the collection's positions are cut into shards of inputs_per_shard
//     consecutive inputs, shard s holding the embedded inputs of
//     [s * inputs_per_shard, (s + 1) * inputs_per_shard); part K of N takes a
//     contiguous run of whole shards, so the N parts write the very files of one
//     full run, shards numbered as in it, and their manifests concatenated in part
//     order are its manifest;
//   - a shard is written to a temporary file, synced and renamed into place, and
//     only then are its manifest lines appended: a complete shard's lines exist
//     only once its file does;
//   - embed-collection.json records what the run is (model, modality, dim,
//     collection size, shard size, part); resuming with anything else is refused;
//   - resuming keeps the manifest up to its last complete shard and cuts the rest
//     (a torn last line included), so the shards after it are computed again, the
//     same bytes as before.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "mmt/core/dtype.hpp"
#include "mmt/core/error.hpp"
#include "mmt/io/json.hpp"
#include "mmt/io/safetensors.hpp"
#include "mmt/pipelines/embedding_index_format.hpp"

namespace mmt::pipelines {

// The K-th of N parts of a collection, 1-based.
struct collection_part {
    std::size_t index = 1;
    std::size_t count = 1;
};

// "K/N" with 1 <= K <= N.
inline collection_part parse_collection_part(const std::string& text) {
    const auto number = [](const std::string& digits) -> std::size_t {  // 0 for anything but 1 to 9 digits
        if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) return 0;
        return std::stoul(digits);
    };
    const std::size_t slash = text.find('/');
    const collection_part part{number(text.substr(0, slash)), slash == std::string::npos ? 0 : number(text.substr(slash + 1))};
    if (part.index == 0 || part.index > part.count)
        fail<input_error>("collection part \"", text, "\": expected K/N with 1 <= K <= N (e.g. 2/3, the second of three parts)");
    return part;
}

// Where the inputs of a run fall: positions in the whole collection, shards, and the part's share of them.
struct collection_layout {
    std::size_t inputs = 0;            // in the whole collection
    std::size_t inputs_per_shard = 0;  // at least 1
    collection_part part;

    std::size_t shards() const { return (inputs + inputs_per_shard - 1) / inputs_per_shard; }
    // The part's shards: [first_shard, end_shard).
    std::size_t first_shard() const { return shards() * (part.index - 1) / part.count; }
    std::size_t end_shard() const { return shards() * part.index / part.count; }
    // Shard s holds the inputs at positions [shard_begin(s), shard_end(s)).
    std::size_t shard_begin(std::size_t s) const { return std::min(inputs, s * inputs_per_shard); }
    std::size_t shard_end(std::size_t s) const { return shard_begin(s + 1); }
    // The part's inputs: [begin, end).
    std::size_t begin() const { return shard_begin(first_shard()); }
    std::size_t end() const { return shard_begin(end_shard()); }
};

// What an index's run is; a resumed run must be the same.
struct index_settings {
    std::string model;     // index_format::model_name
    std::string modality;  // "image" or "text"
    std::size_t dim = 0;
    collection_layout layout;
};

// One manifest line: an embedded input (error empty) or one that failed.
struct manifest_entry {
    std::string id, path, error;
};

class embedding_index_writer {
public:
    // Holds the settings of a run, beside the shards and the manifest.
    static constexpr const char* settings_file = "embed-collection.json";

    // Starts an index in `out`, which must be absent or empty; or, with `resume`, goes
    // on with the run there (one with the same settings) after its last complete
    // shard. Resuming in an absent or empty folder starts afresh.
    embedding_index_writer(std::filesystem::path out, index_settings settings, bool resume)
        : out_(std::move(out)), settings_(std::move(settings)), next_shard_(settings_.layout.first_shard()) {
        const io::ordered_json recorded = settings_json();
        if (empty_or_absent()) {
            std::filesystem::create_directories(out_);
            write_atomically(out_ / settings_file, recorded.dump(2) + "\n");
            std::ofstream(out_ / index_format::manifest_file, std::ios::binary | std::ios::trunc);
            return;
        }
        if (!resume)
            fail<input_error>("output folder '", out_.string(), "' is not empty; expected a new or empty folder, or to resume "
                              "the run in it (--resume)");
        check_same_run(recorded);
        keep_complete_shards();
    }

    // Inputs of the part (its first ones) that the resumed run had finished, and how many of them had failed.
    std::size_t kept() const { return kept_; }
    std::size_t kept_failures() const { return kept_failures_; }
    // The shard write_shard takes next.
    std::size_t next_shard() const { return next_shard_; }

    // The ids of the kept inputs, in order (for checking that the collection is the one the run began with).
    void for_each_kept_id(const std::function<void(const std::string& id)>& visit) const {
        std::ifstream in(out_ / index_format::manifest_file, std::ios::binary);
        std::string line;
        for (std::size_t i = 0; i < kept_ && std::getline(in, line); ++i)
            visit(io::parse_json(line, manifest_where(i)).at("id").get<std::string>());
    }

    // The next shard of the part: its embedded inputs' unit rows [rows, dim], and
    // one entry per input of the shard in input order (rows for those without an error).
    void write_shard(std::size_t shard, const std::vector<float>& rows, const std::vector<manifest_entry>& entries) {
        const collection_layout& layout = settings_.layout;
        std::size_t embedded = 0;
        for (const auto& e : entries) embedded += e.error.empty();
        if (shard != next_shard_ || shard >= layout.end_shard() || entries.size() != layout.shard_end(shard) - layout.shard_begin(shard) ||
            rows.size() != embedded * settings_.dim)
            fail<input_error>("embedding_index_writer: expected shard ", next_shard_, " with ",
                              layout.shard_end(next_shard_) - layout.shard_begin(next_shard_), " entries and ", settings_.dim,
                              " floats per embedded one, got shard ", shard, " with ", entries.size(), " entries (", embedded,
                              " embedded) and ", rows.size(), " floats");
        io::safetensors_writer writer;
        writer.set_metadata(index_format::model_key, settings_.model);
        writer.set_metadata(index_format::dim_key, std::to_string(settings_.dim));
        writer.set_metadata(index_format::modality_key, settings_.modality);
        std::string bytes(rows.size() * sizeof(float), '\0');
        if (!rows.empty()) std::memcpy(bytes.data(), rows.data(), bytes.size());
        writer.add_raw(index_format::embeddings_tensor, dtype::f32, {embedded, settings_.dim}, std::move(bytes));
        const std::filesystem::path file = out_ / index_format::shard_file(shard);
        const std::filesystem::path temporary = file.string() + ".tmp";
        writer.save(temporary);
        sync_and_rename(temporary, file);

        std::string lines;
        std::size_t row = 0;
        for (const auto& e : entries) {
            io::ordered_json line = {{"id", e.id}, {"path", e.path}};
            if (e.error.empty()) {
                line["shard"] = shard;
                line["row"] = row++;
            } else {
                line["error"] = e.error;
            }
            lines += json_text(line) + "\n";
        }
        std::ofstream manifest(out_ / index_format::manifest_file, std::ios::binary | std::ios::app);
        manifest << lines << std::flush;
        if (!manifest) fail<io_error>("cannot append to '", (out_ / index_format::manifest_file).string(), "'");
        ++next_shard_;
    }

    // JSON text of a value whose strings may hold invalid UTF-8 (a file name in another
    // encoding): each bad byte becomes U+FFFD, as the manifest records it.
    static std::string json_text(const io::ordered_json& value) {
        return value.dump(-1, ' ', false, io::ordered_json::error_handler_t::replace);
    }

private:
    io::ordered_json settings_json() const {
        const collection_layout& l = settings_.layout;
        return {{"model", settings_.model},
                {"modality", settings_.modality},
                {"dim", settings_.dim},
                {"inputs", l.inputs},
                {"inputs_per_shard", l.inputs_per_shard},
                {"part", std::to_string(l.part.index) + "/" + std::to_string(l.part.count)}};
    }

    bool empty_or_absent() const {
        std::error_code ec;
        if (!std::filesystem::exists(out_, ec)) return true;
        if (!std::filesystem::is_directory(out_, ec)) fail<io_error>("output '", out_.string(), "' exists and is not a folder");
        return std::filesystem::is_empty(out_, ec);
    }

    void check_same_run(const io::ordered_json& now) const {
        const std::filesystem::path path = out_ / settings_file;
        if (!std::filesystem::exists(path))
            fail<input_error>("cannot resume in '", out_.string(), "': it holds no ", settings_file,
                              ", so no embed-collection run was started there");
        const io::ordered_json before = io::parse_ordered_json(io::read_text_file(path), path.string());
        for (const auto& [key, value] : now.items())
            if (!before.contains(key) || before[key] != value)
                fail<input_error>("cannot resume in '", out_.string(), "': the run there has ", key, " ",
                                  before.contains(key) ? before[key].dump() : std::string("(none)"), ", this one ", value.dump(),
                                  "; resume with the model, collection and settings it began with, or write to a new folder");
    }

    // Finds the last shard whose manifest lines are all there and whose file exists,
    // and cuts the manifest after it.
    void keep_complete_shards() {
        const std::filesystem::path manifest = out_ / index_format::manifest_file;
        const collection_layout& layout = settings_.layout;
        std::ifstream in(manifest, std::ios::binary);
        std::size_t lines = 0, bytes = 0, kept_bytes = 0, failures = 0;
        std::string line;
        while (next_shard_ < layout.end_shard() && std::getline(in, line) && !in.eof()) {  // eof: no line break, torn
            io::json entry;
            try {
                entry = io::parse_json(line, manifest_where(lines));
            } catch (const format_error&) {
                break;
            }
            if (!entry.is_object() || !entry.contains("id")) break;
            failures += entry.contains("error");
            ++lines;
            bytes += line.size() + 1;
            if (layout.begin() + lines == layout.shard_end(next_shard_)) {
                if (!std::filesystem::exists(out_ / index_format::shard_file(next_shard_))) break;
                kept_ = lines;
                kept_bytes = bytes;
                kept_failures_ += failures;
                failures = 0;
                ++next_shard_;
            }
        }
        in.close();
        if (std::filesystem::exists(manifest)) std::filesystem::resize_file(manifest, kept_bytes);
        else std::ofstream(manifest, std::ios::binary);
    }

    std::string manifest_where(std::size_t line) const {
        return (out_ / index_format::manifest_file).string() + " line " + std::to_string(line + 1);
    }

    static void write_atomically(const std::filesystem::path& path, const std::string& text) {
        const std::filesystem::path temporary = path.string() + ".tmp";
        std::ofstream(temporary, std::ios::binary | std::ios::trunc) << text;
        sync_and_rename(temporary, path);
    }

    // On disk before it has its name, so the name never stands for a partial file.
    static void sync_and_rename(const std::filesystem::path& from, const std::filesystem::path& to) {
        const int fd = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0 || ::fsync(fd) != 0) {
            const int err = errno;
            if (fd >= 0) ::close(fd);
            fail<io_error>("cannot sync '", from.string(), "': ", std::strerror(err));
        }
        ::close(fd);
        std::error_code ec;
        std::filesystem::rename(from, to, ec);
        if (ec) fail<io_error>("cannot rename '", from.string(), "' to '", to.string(), "': ", ec.message());
    }

    std::filesystem::path out_;
    index_settings settings_;
    std::size_t next_shard_;
    std::size_t kept_ = 0, kept_failures_ = 0;
};

}  // namespace mmt::pipelines
