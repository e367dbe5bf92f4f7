// A checkpoint with random weights and HF's names for any supported config,
// so speed and memory can be measured without a download. The names and shapes
// are exactly those the model's own loader asks for.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>

#include "mmt/core/dtype.hpp"
#include "mmt/core/error.hpp"
#include "mmt/io/json.hpp"
#include "mmt/io/safetensors.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/models/auto_model.hpp"

namespace mmt {

namespace detail {
// splitmix64: the same stream on every platform, unlike std::uniform_real_distribution.
inline std::uint64_t splitmix64(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

inline bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// HF-like initialisation: normalisation scales near 1, everything else small
// (uniform with std 0.02), CLIP's logit_scale at its init value.
inline void random_values(const std::string& name, const std::vector<std::size_t>& shape, float* out, std::uint64_t seed) {
    std::uint64_t state = seed;
    for (char c : name) state = state * 1099511628211ull ^ static_cast<unsigned char>(c);
    std::size_t n = 1;
    for (auto d : shape) n *= d;
    const auto last = name.substr(0, name.rfind('.'));
    const bool norm_scale = shape.size() == 1 && ends_with(name, "weight") &&
                            (last.find("norm") != std::string::npos || last.find("Norm") != std::string::npos);
    const float center = name == "logit_scale" ? 2.6592f : norm_scale ? 1.0f : 0.0f;
    for (std::size_t i = 0; i < n; ++i) {
        const double u = double(splitmix64(state) >> 11) * (1.0 / 9007199254740992.0);  // [0, 1)
        out[i] = center + float((u * 2.0 - 1.0) * 0.0346);                              // std 0.02
    }
}
}  // namespace detail

// Writes out_dir/config.json (a copy) and out_dir/model.safetensors in `type`
// (F32, F16 or BF16). Returns the number of tensors written.
inline std::size_t write_random_model(const std::filesystem::path& config_path, const std::filesystem::path& out_dir, dtype type,
                                      std::uint64_t seed = 0) {
    if (type != dtype::f32 && type != dtype::f16 && type != dtype::bf16)
        fail<input_error>("random model: dtype ", dtype_name(type), " is not a weight type, expected F32, F16 or BF16");
    const io::json config = io::read_json_file(config_path);
    io::weight_loader loader(
        [seed](const std::string& name, const std::vector<std::size_t>& shape, float* out) { detail::random_values(name, shape, out, seed); });
    const auto model = auto_model::from_config(config, config_path.string(), loader);
    (void)model;

    io::safetensors_writer writer;
    writer.set_metadata("format", "pt");
    writer.set_metadata("generator", "mmt random-model, seed " + std::to_string(seed));
    std::vector<float> values;
    for (const auto& [name, shape] : loader.synthesized()) {
        std::size_t n = 1;
        for (auto d : shape) n *= d;
        values.resize(n);
        detail::random_values(name, shape, values.data(), seed);
        std::string bytes(n * dtype_size(type), '\0');
        for (std::size_t i = 0; i < n; ++i) {
            if (type == dtype::f32) {
                std::memcpy(&bytes[i * 4], &values[i], 4);
            } else {
                const std::uint16_t h = type == dtype::f16 ? float_to_half(values[i]) : float_to_bf16(values[i]);
                std::memcpy(&bytes[i * 2], &h, 2);
            }
        }
        writer.add_raw(name, type, shape, std::move(bytes));
    }
    std::filesystem::create_directories(out_dir);
    std::filesystem::copy_file(config_path, out_dir / "config.json", std::filesystem::copy_options::overwrite_existing);
    writer.save(out_dir / "model.safetensors");
    return loader.synthesized().size();
}

}  // namespace mmt
