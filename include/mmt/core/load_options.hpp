// How a model is loaded: how its weights are held, in all and per module (every
// layer and op that packs weights reads it, so it sits in core: ops need not
// include io to know it), and which language adapter an MMS speech checkpoint takes.
#pragma once

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mmt/core/error.hpp"

namespace mmt {

// float32 is exact (parity); bf16 rounds the linear layers' weights to bfloat16
// and runs them with float32 accumulation; int8 quantises them per output channel
// and their inputs per row at run time.
enum class precision { f32, bf16, int8 };

// As `--precision` spells it.
inline const char* precision_name(precision p) {
    switch (p) {
        case precision::bf16: return "bf16";
        case precision::int8: return "int8";
        case precision::f32: break;
    }
    return "f32";
}

// precision_name's inverse; none for any other text.
inline std::optional<precision> precision_named(const std::string& name) {
    for (precision p : {precision::f32, precision::bf16, precision::int8})
        if (name == precision_name(p)) return p;
    return std::nullopt;
}

// {module, precision} pairs: see load_options::module_precision.
using module_precisions = std::vector<std::pair<std::string, precision>>;

// "feature_extractor=bf16,encoder.layers.0=f32": how the tool, the C API and a
// quantized checkpoint's metadata write module_precision.
inline std::string module_precision_text(const module_precisions& modules) {
    std::string text;
    for (const auto& [module, p] : modules) text += (text.empty() ? "" : ",") + module + "=" + precision_name(p);
    return text;
}

// module_precision_text's inverse; `where` names the text's source in the error.
template <class Error = input_error>
module_precisions parse_module_precision(const std::string& text, const std::string& where) {
    module_precisions modules;
    for (std::size_t begin = 0; begin < text.size();) {
        const std::size_t end = std::min(text.find(',', begin), text.size());
        const std::string item = text.substr(begin, end - begin);
        const std::size_t eq = item.rfind('=');
        const auto p = eq == std::string::npos ? std::nullopt : precision_named(item.substr(eq + 1));
        if (eq == 0 || !p)
            fail<Error>(where, ": '", item, "' in '", text, "' is not MODULE=PRECISION, expected e.g. feature_extractor=bf16 (f32, bf16 or int8)");
        modules.emplace_back(item.substr(0, eq), *p);
        begin = end + 1;
    }
    return modules;
}

struct load_options {
    // load_options{precision::bf16} and the like, as an aggregate would take them.
    load_options(precision linear = precision::f32, std::string target_lang = {})
        : linear(linear), target_lang(std::move(target_lang)) {}

    // The encoders' nn.Linear layers (attention projections, MLPs, feature projection)
    // and wav2vec2's feature-encoder convolutions, which are GEMMs over im2col rows.
    // Output heads stay float32 under every option (layers::linear::load_head), and
    // so does the grouped positional convolution.
    precision linear;
    // Modules whose layers take another precision than `linear`, by dotted
    // components of their checkpoint names: {"feature_extractor", bf16} runs
    // wav2vec2's feature-encoder convolutions in bf16; {"encoder.layers.0", f32}
    // keeps one layer exact (HF's modules_to_not_convert); {"output_dense", f32}
    // every FFN's second layer. The first entry that matches a layer decides, and
    // each must decide one: an entry that matches none, or only layers an earlier
    // entry decides, is an error at load.
    module_precisions module_precision;
    // MMS speech checkpoints: the language whose adapter.<lang>.safetensors replaces the
    // adapters and the CTC head after loading (HF's load_adapter); empty keeps the checkpoint's own.
    std::string target_lang;
};

}  // namespace mmt
