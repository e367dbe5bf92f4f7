// Hand-made pytorch_model.bin files: a zip of stored entries as torch.save writes
// it, pickle pieces (protocol 2 opcodes) to write a state dict with, and a whole
// checkpoint of the tensors of a safetensors file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "mmt/core/dtype.hpp"
#include "mmt/io/tensor_source.hpp"

namespace mmt::test::pytorch_bin {

// `v` as `n` little-endian bytes; bytes past the 8 of a uint64_t are zeros.
inline void put_le(std::string& out, std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out += static_cast<char>(i < 8 ? (v >> (8 * i)) & 0xff : 0);
}

// The entries {name, bytes} stored in a zip (CRCs left 0: the reader does not check them).
inline std::string zip(const std::vector<std::pair<std::string, std::string>>& entries) {
    std::string out, directory;
    for (const auto& [name, data] : entries) {
        const std::size_t at = out.size();
        for (std::string* h : {&out, &directory}) {
            put_le(*h, h == &out ? 0x04034b50 : 0x02014b50, 4);
            if (h == &directory) put_le(*h, 20, 2);  // version made by
            put_le(*h, 20, 2);
            put_le(*h, 0, 2 + 2 + 2 + 2 + 4);  // flags, method (stored), time, date, crc
            put_le(*h, data.size(), 4);
            put_le(*h, data.size(), 4);
            put_le(*h, name.size(), 2);
            put_le(*h, 0, 2);
            if (h == &directory) {
                put_le(*h, 0, 2 + 2 + 2 + 4);  // comment length, disk, attributes
                put_le(*h, at, 4);
            }
            *h += name;
            if (h == &out) *h += data;
        }
    }
    const std::size_t directory_at = out.size();
    out += directory;
    put_le(out, 0x06054b50, 4);
    put_le(out, 0, 4);
    put_le(out, entries.size(), 2);
    put_le(out, entries.size(), 2);
    put_le(out, directory.size(), 4);
    put_le(out, directory_at, 4);
    put_le(out, 0, 2);
    return out;
}

inline std::string str(const std::string& s) {
    std::string out = "X";
    put_le(out, s.size(), 4);
    return out + s;
}
inline std::string global(const std::string& module, const std::string& name) { return "c" + module + "\n" + name + "\n"; }
// BININT1 below 256, else BININT.
inline std::string integer(std::uint32_t v) {
    std::string out = v < 256 ? "K" : "J";
    put_le(out, v, v < 256 ? 1 : 4);
    return out;
}
inline std::string ordered_dict() { return global("collections", "OrderedDict") + ")R"; }
// _rebuild_tensor_v2(storage `key` of `numel` elements of torch.<type>, offset, size, stride, False, OrderedDict())
inline std::string rebuild(const std::string& type, const std::string& key, std::uint32_t numel, std::uint32_t offset,
                           const std::vector<std::uint32_t>& size, const std::vector<std::uint32_t>& stride) {
    std::string p = global("torch._utils", "_rebuild_tensor_v2") + "((" + str("storage") + global("torch", type) + str(key) +
                    str("cpu") + integer(numel) + "tQ" + integer(offset) + "(";
    for (auto v : size) p += integer(v);
    p += "t(";
    for (auto v : stride) p += integer(v);
    return p + "t\x89" + ordered_dict() + "tR";
}
// {items} as torch.save(dict) writes it.
inline std::string state_dict(const std::string& items) { return "\x80\x02}(" + items + "u."; }

// Every tensor of `source` as torch.save of a state dict: each in its own storage, contiguous.
inline std::string from_tensors(const io::tensor_source& source) {
    static const std::map<dtype, const char*> types = {{dtype::f32, "FloatStorage"}, {dtype::f16, "HalfStorage"},
                                                       {dtype::bf16, "BFloat16Storage"}, {dtype::i64, "LongStorage"}};
    std::string items;
    std::vector<std::pair<std::string, std::string>> entries = {{"archive/data.pkl", ""}};
    for (const auto& name : source.names()) {
        const io::tensor_info& t = source.info(name);
        const std::string key = std::to_string(entries.size() - 1);
        std::vector<std::uint32_t> size, stride(t.shape.size());
        std::uint32_t step = 1;
        for (std::size_t i = t.shape.size(); i-- > 0;) {
            stride[i] = step;
            step *= static_cast<std::uint32_t>(t.shape[i]);
        }
        for (auto d : t.shape) size.push_back(static_cast<std::uint32_t>(d));
        items += str(name) + rebuild(types.at(t.dtype), key, static_cast<std::uint32_t>(t.numel()), 0, size, stride);
        std::string bytes(t.nbytes, '\0');
        source.read_bytes(t, bytes.data());
        entries.emplace_back("archive/data/" + key, std::move(bytes));
    }
    entries[0].second = state_dict(items);
    return zip(entries);
}

}  // namespace mmt::test::pytorch_bin
