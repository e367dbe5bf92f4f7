// The checkpoint `mmt quantize` writes (docs/quantized-checkpoints.md): one
// model.safetensors whose __metadata__ says the precision ("mmt_quantized": "int8"
// or "bf16") and the layout's version ("mmt_quantized_version": "1"). Each weight
// the model packs for a GEMM in that precision is stored reduced, under its own
// name and shape:
//   int8: I8 levels, plus "<name>_scale", F32 [shape[0]]: one scale per output
//         channel (weight = level * scale);
//   bf16: BF16 values.
// Every other tensor (embeddings, norms, biases, output heads) is as it was.
#pragma once

#include <optional>
#include <string>

#include "mmt/core/error.hpp"
#include "mmt/core/load_options.hpp"
#include "mmt/io/checkpoint.hpp"

namespace mmt::io::quantized_format {

inline constexpr const char* precision_key = "mmt_quantized";
inline constexpr const char* version_key = "mmt_quantized_version";
inline constexpr int version = 1;
inline constexpr const char* scale_suffix = "_scale";

// The precision `mmt quantize` stored the checkpoint's weights in, or none for a
// checkpoint as trained.
inline std::optional<precision> precision_of(const checkpoint& ckpt) {
    const auto stored = ckpt.metadata(precision_key);
    if (!stored) return std::nullopt;
    const auto v = ckpt.metadata(version_key);
    if (v != std::to_string(version))
        fail<format_error>(ckpt.description(), ": written by mmt quantize in layout version ", v ? "'" + *v + "'" : "(none)",
                           "; this mmt reads version ", version, ": quantize the original checkpoint again");
    if (*stored == "int8") return precision::int8;
    if (*stored == "bf16") return precision::bf16;
    fail<format_error>(ckpt.description(), ": __metadata__ '", precision_key, "' is '", *stored, "', expected 'int8' or 'bf16'");
}

}  // namespace mmt::io::quantized_format
