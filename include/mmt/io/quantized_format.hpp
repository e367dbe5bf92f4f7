// The checkpoint `mmt quantize` writes (docs/quantized-checkpoints.md): one
// model.safetensors whose __metadata__ says the precision ("mmt_quantized": "int8"
// or "bf16") and the layout's version ("mmt_quantized_version"). Each weight the
// model packs for a GEMM in that precision is stored reduced, under its own name
// and shape:
//   int8: I8 levels, plus "<name>_scale", F32 [shape[0]]: one scale per output
//         channel (weight = level * scale);
//   bf16: BF16 values.
// Every other tensor (embeddings, norms, biases, output heads) is as it was.
// Version 2 adds "mmt_module_precision": the modules quantize stored in another
// precision (load_options::module_precision, as module_precision_text writes it:
// "feature_extractor=bf16"); version 1 has none, and a file without such modules
// is still written as version 1.
#pragma once

#include <optional>
#include <string>

#include "mmt/core/error.hpp"
#include "mmt/core/load_options.hpp"
#include "mmt/io/checkpoint.hpp"

namespace mmt::io::quantized_format {

inline constexpr const char* precision_key = "mmt_quantized";
inline constexpr const char* version_key = "mmt_quantized_version";
inline constexpr const char* modules_key = "mmt_module_precision";
inline constexpr int version = 2;  // the newest this mmt reads and writes; it reads 1 too
inline constexpr const char* scale_suffix = "_scale";

// The version a checkpoint with `modules` in their own precision is written in.
inline int version_for(const module_precisions& modules) { return modules.empty() ? 1 : 2; }

// The precision `mmt quantize` stored the checkpoint's weights in, or none for a
// checkpoint as trained.
inline std::optional<precision> precision_of(const checkpoint& ckpt) {
    const auto stored = ckpt.metadata(precision_key);
    if (!stored) return std::nullopt;
    const auto v = ckpt.metadata(version_key);
    if (v != std::string("1") && v != std::to_string(version))
        fail<format_error>(ckpt.description(), ": written by mmt quantize in layout version ", v ? "'" + *v + "'" : "(none)",
                           "; this mmt reads versions 1 to ", version, ": quantize the original checkpoint again");
    if (*stored == "int8") return precision::int8;
    if (*stored == "bf16") return precision::bf16;
    fail<format_error>(ckpt.description(), ": __metadata__ '", precision_key, "' is '", *stored, "', expected 'int8' or 'bf16'");
}

// The modules a quantized checkpoint stores in their own precision (none before version 2).
inline module_precisions module_precision_of(const checkpoint& ckpt) {
    const auto stored = ckpt.metadata(modules_key);
    if (!stored) return {};
    if (ckpt.metadata(version_key) == std::string("1"))
        fail<format_error>(ckpt.description(), ": __metadata__ '", modules_key, "' in a layout version 1 file, which has none");
    module_precisions modules = parse_module_precision<format_error>(*stored, ckpt.description() + ": __metadata__ '" + modules_key + "'");
    if (modules.empty()) fail<format_error>(ckpt.description(), ": __metadata__ '", modules_key, "' is empty, expected MODULE=PRECISION pairs");
    return modules;
}

}  // namespace mmt::io::quantized_format
