// Named tensors whose bytes lie in one byte_source: each row-major, little-endian,
// at its own offset. Every checkpoint format fills one (safetensors_file, the
// pytorch_model.bin reader) and the checkpoint reads all of them the same way,
// converting the dtype on the way out:
//
//   tensor_source: {name: tensor_info{dtype, shape, begin, nbytes}} over bytes
//   tensor t lies at bytes [base + t.begin, base + t.begin + t.nbytes) of the source
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "mmt/core/dtype.hpp"
#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/byte_source.hpp"

namespace mmt::io {

struct tensor_info {
    std::string name;
    mmt::dtype dtype;
    std::vector<std::size_t> shape;
    std::size_t begin = 0;  // byte offset from the source's base
    std::size_t nbytes = 0;

    std::size_t numel() const {
        std::size_t n = 1;
        for (auto d : shape) n *= d;
        return n;
    }
};

inline std::string shape_string(const std::vector<std::size_t>& shape) {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

class tensor_source {
public:
    explicit tensor_source(std::shared_ptr<const byte_source> bytes) : bytes_(std::move(bytes)) {}

    const std::filesystem::path& path() const { return bytes_->name(); }

    // Tensor names in byte order.
    std::vector<std::string> names() const {
        std::vector<const tensor_info*> order;
        for (const auto& [name, info] : tensors_) order.push_back(&info);
        std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->begin < b->begin || (a->begin == b->begin && a->name < b->name); });
        std::vector<std::string> out;
        for (auto* info : order) out.push_back(info->name);
        return out;
    }
    bool contains(const std::string& name) const { return tensors_.count(name) != 0; }
    // The file's own key-value strings (safetensors' __metadata__; none in pytorch files).
    const std::map<std::string, std::string>& metadata() const { return metadata_; }
    std::size_t size() const { return tensors_.size(); }

    const tensor_info& info(const std::string& name) const {
        auto it = tensors_.find(name);
        if (it == tensors_.end()) fail<weight_error>(path().string(), ": no tensor named '", name, "'");
        return it->second;
    }

    // Copies a tensor out as T: float accepts F32, F16, BF16 and F64; int64 accepts every
    // integer dtype and BOOL; uint8 accepts U8 and BOOL.
    template <class T>
    dyn_tensor<T> load(const std::string& name) const {
        const tensor_info& t = info(name);
        dyn_tensor<T> out(std::vector<std::size_t>(t.shape.begin(), t.shape.end()));
        convert_into(t, out.data());
        return out;
    }

    // As load, with the rank checked: load<float, 2>("...") -> tensor<2>.
    template <class T, std::size_t N>
    xt::xtensor<T, N> load(const std::string& name) const {
        const tensor_info& t = info(name);
        if (t.shape.size() != N)
            fail<shape_error>(path().string(), ": tensor '", name, "' has rank ", t.shape.size(), " ",
                              shape_string(t.shape), ", expected rank ", N);
        std::array<std::size_t, N> shape{};
        for (std::size_t i = 0; i < N; ++i) shape[i] = t.shape[i];  // std::copy into a rank-0 array trips -Wnonnull
        xt::xtensor<T, N> out(shape);
        convert_into(t, out.data());
        return out;
    }

    // The stored bytes of tensor `t` of this source, as they are (t.nbytes into `out`).
    void read_bytes(const tensor_info& t, void* out) const { read_elements(t, 0, t.numel(), out); }

    // The stored bytes of elements [first, first + count) of tensor `t`, as they are.
    void read_elements(const tensor_info& t, std::size_t first, std::size_t count, void* out) const {
        const std::size_t size = dtype_size(t.dtype);
        if (first > t.numel() || count > t.numel() - first)
            fail<error>(path().string(), ": tensor '", t.name, "': elements [", first, ", ", first + count, ") asked of ", t.numel());
        bytes_->read(base_ + t.begin + first * size, count * size, out);
    }

    // Adds tensor `t`, checked: a new name, nbytes that its shape and dtype need, and
    // bytes that lie inside the source. The format reader has checked that the shape's
    // byte size does not overflow.
    void add(tensor_info t) {
        auto bad = [&](auto&&... parts) { fail<format_error>(path().string(), ": tensor '", t.name, "': ", parts...); };
        if (contains(t.name)) bad("appears twice");
        if (t.nbytes != t.numel() * dtype_size(t.dtype))
            bad("holds ", t.nbytes, " bytes, but shape ", shape_string(t.shape), " of ", dtype_name(t.dtype), " needs ",
                t.numel() * dtype_size(t.dtype));
        const std::size_t size = bytes_->size();
        if (base_ > size || t.begin > size - base_ || t.nbytes > size - base_ - t.begin)
            bad("bytes [", base_ + t.begin, ", ", base_ + t.begin + t.nbytes, ") lie past the end (", size, " bytes)");
        std::string name = t.name;
        tensors_.emplace(std::move(name), std::move(t));
    }

    // Reads tensor `t` of this source into `out` (t.numel() elements), converting its dtype.
    template <class T>
    void convert_into(const tensor_info& t, T* out) const {
        convert_into(t, 0, t.numel(), out);
    }

    // The same for elements [first, first + count) of `t` (row-major): a block of rows.
    template <class T>
    void convert_into(const tensor_info& t, std::size_t first, std::size_t n, T* out) const {
        auto wrong = [&] {
            fail<weight_error>(path().string(), ": tensor '", t.name, "' has dtype ", dtype_name(t.dtype),
                               ", which cannot be read as ", element_name<T>());
        };
        if constexpr (std::is_same_v<T, float>) {
            switch (t.dtype) {
                case dtype::f32: return read_elements(t, first, n, out);
                case dtype::f16: return each<std::uint16_t>(t, first, n, out, [](std::uint16_t v) { return half_to_float(v); });
                case dtype::bf16: return each<std::uint16_t>(t, first, n, out, [](std::uint16_t v) { return bf16_to_float(v); });
                case dtype::f64: return each<double>(t, first, n, out, [](double v) { return float(v); });
                default: wrong();
            }
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
            switch (t.dtype) {
                case dtype::i64: return read_elements(t, first, n, out);
                case dtype::i32: return each<std::int32_t>(t, first, n, out, [](std::int32_t v) { return std::int64_t(v); });
                case dtype::i16: return each<std::int16_t>(t, first, n, out, [](std::int16_t v) { return std::int64_t(v); });
                case dtype::i8: return each<std::int8_t>(t, first, n, out, [](std::int8_t v) { return std::int64_t(v); });
                case dtype::u8:
                case dtype::boolean: return each<std::uint8_t>(t, first, n, out, [](std::uint8_t v) { return std::int64_t(v); });
                default: wrong();
            }
        } else if constexpr (std::is_same_v<T, std::uint8_t>) {
            if (t.dtype != dtype::u8 && t.dtype != dtype::boolean) wrong();
            read_elements(t, first, n, out);
        } else {
            static_assert(sizeof(T) == 0, "tensor_source::load supports float, int64_t and uint8_t");
        }
    }

protected:
    const byte_source& bytes() const { return *bytes_; }
    // Where offset 0 of the tensors lies in the bytes (0 until set).
    void set_base(std::size_t base) { base_ = base; }
    const std::map<std::string, tensor_info>& tensors() const { return tensors_; }
    void add_metadata(const std::string& key, std::string value) { metadata_[key] = std::move(value); }

private:
    template <class T>
    static const char* element_name() {
        if constexpr (std::is_same_v<T, float>) return "float32";
        else if constexpr (std::is_same_v<T, std::int64_t>) return "int64";
        else return "uint8";
    }

    // Elements [first, first + n) stored as Src, converted one by one, read a block at a time.
    template <class Src, class Dst, class F>
    void each(const tensor_info& t, std::size_t first, std::size_t n, Dst* out, F convert) const {
        constexpr std::size_t block = 1 << 18;
        std::vector<Src> buffer(std::min(block, n));
        for (std::size_t done = 0; done < n; done += block) {
            const std::size_t count = std::min(block, n - done);
            read_elements(t, first + done, count, buffer.data());
            for (std::size_t i = 0; i < count; ++i) out[done + i] = convert(buffer[i]);
        }
    }

    std::shared_ptr<const byte_source> bytes_;
    std::size_t base_ = 0;
    std::map<std::string, tensor_info> tensors_;
    std::map<std::string, std::string> metadata_;
};

}  // namespace mmt::io
