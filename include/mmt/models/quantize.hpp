// `mmt quantize`: a model directory's weights stored in int8 or bf16
// (io/quantized_format.hpp), so a reduced-precision model ships small and loads
// without quantising again. The model is loaded in that precision first: the
// weights it packs for a GEMM (io::weight_loader::packed) are exactly those
// stored reduced, quantised by the same functions as at load, so the written
// model's outputs equal those of the original loaded with that precision.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "mmt/core/dtype.hpp"
#include "mmt/core/error.hpp"
#include "mmt/core/load_options.hpp"
#include "mmt/io/checkpoint.hpp"
#include "mmt/io/json.hpp"
#include "mmt/io/quantized_format.hpp"
#include "mmt/io/safetensors.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/models/auto_model.hpp"
#include "mmt/ops/packed_gemm_int8.hpp"

namespace mmt {

namespace detail {
// The reduced bytes of one weight: int8 levels (and their per-row scales) or bf16
// values. w, the weight's float32 values, is overwritten (by the levels).
inline void add_reduced(io::safetensors_writer& writer, const std::string& name, const std::vector<std::size_t>& shape,
                        std::vector<float>& w, precision p) {
    if (p == precision::bf16) {
        std::string bytes(w.size() * 2, '\0');
        for (std::size_t i = 0; i < w.size(); ++i) {
            const std::uint16_t v = float_to_bf16(w[i]);
            std::memcpy(&bytes[i * 2], &v, 2);
        }
        return writer.add_raw(name, dtype::bf16, shape, std::move(bytes));
    }
    const std::size_t rows = shape.at(0), k = rows ? w.size() / rows : 0;
    std::vector<float> scales(rows);
    ops::quantise_int8_rows(w.data(), rows, k, scales.data());
    std::string bytes(w.size(), '\0');
    std::transform(w.begin(), w.end(), bytes.begin(), [](float level) { return static_cast<char>(static_cast<std::int8_t>(level)); });
    writer.add_raw(name, dtype::i8, shape, std::move(bytes));
    writer.add_raw(name + io::quantized_format::scale_suffix, dtype::f32, {rows},
                   std::string(reinterpret_cast<const char*>(scales.data()), rows * sizeof(float)));
}
}  // namespace detail

// Writes out/model.safetensors with `dir`'s weights in `p` (int8 or bf16), the
// layers of `modules` in their own precision (load_options::module_precision), and
// copies every other file of `dir` (config.json, the tokenizer's and preprocessor's
// files, language adapters). Returns the number of weights stored reduced.
inline std::size_t quantize_pretrained(const std::filesystem::path& dir, const std::filesystem::path& out, precision p,
                                       const module_precisions& modules = {}) {
    namespace fs = std::filesystem;
    if (p == precision::f32) fail<input_error>("quantize: precision f32 keeps the checkpoint as it is; expected int8 or bf16");
    std::error_code ec;
    if (fs::exists(out, ec) && fs::equivalent(dir, out, ec))
        fail<input_error>("quantize: the output directory '", out.string(), "' is the model's own; expected another");
    const auto config_path = dir / "config.json";
    const io::json config = io::read_json_file(config_path);
    const io::name_table names = auto_model::checkpoint_names(config, config_path.string());
    io::checkpoint original = io::checkpoint::open(dir);
    if (const auto stored = io::quantized_format::precision_of(original))
        fail<input_error>("quantize: ", original.description(), " is already quantized (", precision_name(*stored),
                          "); quantize the original checkpoint");
    load_options options{p};
    options.module_precision = modules;
    io::weight_loader loader(std::move(original), names, options);
    (void)auto_model::from_config(config, config_path.string(), loader);  // takes every tensor: the packed ones are recorded
    loader.check_module_precision();

    const io::checkpoint& ckpt = loader.ckpt();
    io::safetensors_writer writer;
    writer.set_metadata("format", "pt");
    writer.set_metadata(io::quantized_format::precision_key, precision_name(p));
    writer.set_metadata(io::quantized_format::version_key, std::to_string(io::quantized_format::version_for(modules)));
    if (!modules.empty()) writer.set_metadata(io::quantized_format::modules_key, module_precision_text(modules));
    std::size_t reduced = 0;
    std::vector<float> values;
    for (const std::string& name : ckpt.names()) {
        const io::tensor_info& t = ckpt.info(name);
        const auto packed = loader.packed().find(name);
        if (packed != loader.packed().end() && packed->second != precision::f32) {
            values.resize(t.numel());
            ckpt.file_of(name).convert_into(t, values.data());
            detail::add_reduced(writer, name, t.shape, values, packed->second);
            ++reduced;
        } else {
            std::string bytes(t.nbytes, '\0');
            ckpt.file_of(name).read_bytes(t, bytes.data());
            writer.add_raw(name, t.dtype, t.shape, std::move(bytes));
        }
    }
    fs::create_directories(out);
    // Not the checkpoint's files (nor another form of it): the new model.safetensors replaces them.
    std::vector<std::string> skipped{"model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json"};
    for (const fs::path& file : ckpt.files()) skipped.push_back(file.filename().string());
    for (const auto& entry : fs::directory_iterator(dir)) {
        const std::string file = entry.path().filename().string();
        if (entry.is_regular_file() && std::find(skipped.begin(), skipped.end(), file) == skipped.end())
            fs::copy_file(entry.path(), out / file, fs::copy_options::overwrite_existing);
    }
    writer.save(out / "model.safetensors");
    return reduced;
}

}  // namespace mmt
