// safetensors files: a validated reader and a writer.
// Format: u64 little-endian header length N, N bytes of JSON
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}},
// then the data; offsets are relative to the end of the header.
//
// The whole header is checked when the file is opened, before any tensor is read:
// its length against a limit and the file size, its JSON nesting depth, every
// shape's byte size against overflow, its data_offsets and the file; as in the
// reference implementation, names are unique and the tensors fill the data section
// without overlap or gap, to the end of the file. So
// no later read can run past the file as it was opened, and nothing is allocated
// from a size the file does not back. Tensors are read with pread, not mapped
// (see byte_source.hpp): a file truncated by another process after opening gives
// an io_error at load, never SIGBUS; a file rewritten in place gives whatever
// bytes it then holds. Models copy their weights out at load and keep no file open.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mmt/core/dtype.hpp"
#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/json.hpp"
#include "mmt/io/byte_source.hpp"
#include "mmt/io/stand_in_file.hpp"
#include "mmt/io/tensor_source.hpp"

namespace mmt::io {

struct safetensors_limits {
    std::size_t max_header_bytes = 100u << 20;  // 100 MiB, as the reference implementation
    std::size_t max_rank = 8;
};

class safetensors_file : public tensor_source {
public:
    explicit safetensors_file(const std::filesystem::path& path, safetensors_limits limits = {})
        : tensor_source(std::make_shared<byte_source>(byte_source::open(path))) {
        parse_header(limits);
    }

    // A safetensors file held in memory; `name` stands for its path in messages.
    static safetensors_file from_bytes(std::string bytes, const std::string& name, safetensors_limits limits = {}) {
        return safetensors_file(std::make_shared<byte_source>(byte_source::from_bytes(std::move(bytes), name)), limits);
    }

    // Where the data section starts: tensor t's bytes lie at data_offset() + t.begin in
    // the file, for a reader that maps it (an embedding index's shards).
    std::size_t data_offset() const { return data_offset_; }

private:
    safetensors_file(std::shared_ptr<byte_source> source, const safetensors_limits& limits) : tensor_source(std::move(source)) {
        parse_header(limits);
    }

    void parse_header(const safetensors_limits& limits) {
        const std::string where = path().string();
        const byte_source& file = bytes();
        const std::size_t file_size = file.size();
        std::string head(std::min<std::size_t>(file_size, 64), '\0');
        file.read(0, head.size(), head.data());
        check_not_stand_in(head, where, "a safetensors file");
        if (file_size < 8)
            fail<format_error>(where, ": not a safetensors file: ", file_size, " bytes, expected at least 8");
        unsigned char length_bytes[8];
        file.read(0, 8, length_bytes);
        std::uint64_t header_len = 0;
        for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | length_bytes[i];
        if (header_len > limits.max_header_bytes)
            fail<format_error>(where, ": safetensors header of ", header_len, " bytes exceeds the limit of ",
                               limits.max_header_bytes);
        if (header_len > file_size - 8)
            fail<format_error>(where, ": safetensors header of ", header_len, " bytes runs past the end of the file (",
                               file_size, " bytes): truncated?");
        std::string text(header_len, '\0');
        file.read(8, header_len, text.data());
        json_limits unique;
        unique.unique_keys = true;  // two entries of one name would leave one tensor's bytes unread
        const json header = parse_json(text, where + ": safetensors header", unique);
        if (!header.is_object()) fail<format_error>(where, ": safetensors header is ", header.type_name(), ", expected an object");
        data_offset_ = 8 + header_len;
        set_base(data_offset_);
        const std::size_t data_size = file_size - 8 - header_len;

        for (auto it = header.begin(); it != header.end(); ++it) {
            if (it.key() == "__metadata__") {
                if (!it->is_object()) fail<format_error>(where, ": __metadata__ is ", it->type_name(), ", expected an object");
                for (auto m = it->begin(); m != it->end(); ++m) {
                    if (!m->is_string()) fail<format_error>(where, ": __metadata__ value '", m.key(), "' is not a string");
                    add_metadata(m.key(), m->get<std::string>());
                }
                continue;
            }
            add(parse_entry(it.key(), *it, data_size, limits, where));
        }

        // As the reference implementation (Metadata::validate and read_metadata): in
        // the order of their offsets, each tensor starts where the one before it ends
        // (an empty one too), and the last ends with the file.
        std::vector<const tensor_info*> by_offset;
        for (const auto& [name, info] : tensors()) by_offset.push_back(&info);
        std::sort(by_offset.begin(), by_offset.end(), [](auto* a, auto* b) {
            return a->begin != b->begin ? a->begin < b->begin : a->nbytes < b->nbytes;
        });
        const tensor_info* prev = nullptr;
        std::size_t end = 0;  // where the tensors so far end
        for (const tensor_info* cur : by_offset) {
            if (cur->begin < end)
                fail<format_error>(where, ": tensor '", cur->name, "' (bytes ", cur->begin, "..", cur->begin + cur->nbytes,
                                   ") overlaps tensor '", prev->name, "' (bytes ", prev->begin, "..", end, ")");
            if (cur->begin > end)
                fail<format_error>(where, ": tensor '", cur->name, "' starts at byte ", cur->begin, " of the data section; expected byte ",
                                   end, " (where ", prev ? "tensor '" + prev->name + "' ends" : std::string("the data section starts"),
                                   "): the safetensors format leaves no gap between tensors");
            prev = cur;
            end = cur->begin + cur->nbytes;
        }
        if (end != data_size)
            fail<format_error>(where, ": ", data_size - end, data_size - end == 1 ? " byte" : " bytes",
                               " after the last tensor (the tensors end at byte ", end,
                               " of a data section of ", data_size,
                               " bytes); expected the file to end with the last tensor, as the safetensors format requires");
    }

    static tensor_info parse_entry(const std::string& name, const json& entry, std::size_t data_size,
                                   const safetensors_limits& limits, const std::string& where) {
        auto bad = [&](auto&&... parts) { fail<format_error>(where, ": tensor '", name, "': ", parts...); };
        if (!entry.is_object()) bad("entry is ", entry.type_name(), ", expected an object");
        tensor_info t;
        t.name = name;
        auto dt = entry.find("dtype");
        if (dt == entry.end() || !dt->is_string()) bad("missing \"dtype\" string");
        auto parsed = parse_dtype(dt->get<std::string>());
        if (!parsed) bad("unknown dtype \"", dt->get<std::string>(), "\"");
        t.dtype = *parsed;

        auto shape = entry.find("shape");
        if (shape == entry.end() || !shape->is_array()) bad("missing \"shape\" array");
        if (shape->size() > limits.max_rank) bad("rank ", shape->size(), " exceeds the limit of ", limits.max_rank);
        std::size_t numel = 1;
        for (const auto& d : *shape) {
            if (!d.is_number_unsigned()) bad("shape entry ", d.dump(), " is not a non-negative integer");
            auto dim = d.get<std::uint64_t>();
            t.shape.push_back(dim);
            if (dim != 0 && numel > std::numeric_limits<std::size_t>::max() / dim) bad("shape ", shape->dump(), " overflows");
            numel *= dim;
        }
        if (numel > std::numeric_limits<std::size_t>::max() / dtype_size(t.dtype)) bad("byte size of shape ", shape->dump(), " overflows");

        auto offsets = entry.find("data_offsets");
        if (offsets == entry.end() || !offsets->is_array() || offsets->size() != 2 || !(*offsets)[0].is_number_unsigned() ||
            !(*offsets)[1].is_number_unsigned())
            bad("\"data_offsets\" must be [begin, end] of non-negative integers");
        auto begin = (*offsets)[0].get<std::uint64_t>();
        auto end = (*offsets)[1].get<std::uint64_t>();
        if (begin > end) bad("data_offsets [", begin, ", ", end, "] begin after end");
        if (end > data_size) bad("data_offsets [", begin, ", ", end, "] run past the data section of ", data_size, " bytes: truncated file?");
        t.begin = begin;
        t.nbytes = end - begin;  // checked against the shape by add()
        return t;
    }

    std::size_t data_offset_ = 0;  // where the data section starts in the file
};

// Collects tensors and writes them as one safetensors file (data in insertion order).
class safetensors_writer {
public:
    void add(const std::string& name, const dyn_tensor<float>& t) { add_typed(name, dtype::f32, t); }
    void add(const std::string& name, const dyn_tensor<std::int64_t>& t) { add_typed(name, dtype::i64, t); }
    template <class T, std::size_t N>
    void add(const std::string& name, const xt::xtensor<T, N>& t) {
        add(name, dyn_tensor<T>(t));
    }
    // Already-encoded little-endian bytes, e.g. F16/BF16 weights.
    void add_raw(const std::string& name, mmt::dtype type, std::vector<std::size_t> shape, std::string bytes) {
        std::size_t numel = 1;
        for (auto d : shape) numel *= d;
        if (bytes.size() != numel * dtype_size(type))
            fail<shape_error>("safetensors_writer: tensor '", name, "' has ", bytes.size(), " bytes, shape ",
                              shape_string(shape), " of ", dtype_name(type), " needs ", numel * dtype_size(type));
        if (index_.count(name)) fail<input_error>("safetensors_writer: tensor '", name, "' added twice");
        index_[name] = entries_.size();
        entries_.push_back({name, type, std::move(shape), std::move(bytes)});
    }
    void set_metadata(const std::string& key, const std::string& value) { metadata_[key] = value; }

    // Writes `path` atomically: a temporary file beside it, renamed over it once it is
    // complete, so a reader never sees half a checkpoint and a failed write leaves none.
    // A path that exists and is no regular file (/dev/stdout, /dev/full, a FIFO) is
    // written in place: a temporary renamed onto it replaced the device itself (as
    // root, `mmt embed --out /dev/full` turned /dev/full into a file and exited 0).
    void save(const std::filesystem::path& path) const {
        json header = json::object();
        if (!metadata_.empty()) header["__metadata__"] = metadata_;
        std::size_t offset = 0;
        for (const auto& e : entries_) {
            header[e.name] = {{"dtype", dtype_name(e.type)}, {"shape", e.shape}, {"data_offsets", {offset, offset + e.bytes.size()}}};
            offset += e.bytes.size();
        }
        std::string text = header.dump();
        text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data section 8-byte aligned
        std::error_code ec;
        const bool in_place = std::filesystem::exists(path, ec) && !std::filesystem::is_regular_file(path, ec);
        std::filesystem::path temp = path;
        if (!in_place) temp += ".tmp-" + std::to_string(::getpid());
        std::ofstream out(temp, std::ios::binary | std::ios::trunc);
        if (!out) fail<io_error>("cannot create '", temp.string(), "': ", std::strerror(errno));
        unsigned char len[8];
        std::uint64_t n = text.size();
        for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(n >> (8 * i));
        out.write(reinterpret_cast<const char*>(len), 8);
        out.write(text.data(), std::streamsize(text.size()));
        for (const auto& e : entries_) out.write(e.bytes.data(), std::streamsize(e.bytes.size()));
        out.close();  // flushes: a full disk shows here
        if (!out) {
            const int err = errno;
            if (!in_place) std::filesystem::remove(temp, ec);
            fail<io_error>("cannot write '", path.string(), "': ", std::strerror(err));
        }
        if (in_place) return;
        std::filesystem::rename(temp, path, ec);
        if (ec) {
            const std::string why = ec.message();
            std::filesystem::remove(temp, ec);
            fail<io_error>("cannot rename '", temp.string(), "' to '", path.string(), "': ", why);
        }
    }

private:
    template <class T>
    void add_typed(const std::string& name, mmt::dtype type, const dyn_tensor<T>& t) {
        std::string bytes(t.size() * sizeof(T), '\0');
        if (t.size() != 0) std::memcpy(bytes.data(), t.data(), bytes.size());
        add_raw(name, type, std::vector<std::size_t>(t.shape().begin(), t.shape().end()), std::move(bytes));
    }

    struct entry {
        std::string name;
        mmt::dtype type;
        std::vector<std::size_t> shape;
        std::string bytes;
    };
    std::vector<entry> entries_;
    std::map<std::string, std::size_t> index_;
    std::map<std::string, std::string> metadata_;
};

}  // namespace mmt::io
