// Loading HF tensor names as they are. A weight_loader owns the checkpoint,
// the architecture's table of name drift and the record of what was taken;
// weight_scope is a prefix into it that checks the shape at every lookup.
//
//   io::weight_loader loader(io::checkpoint::open(dir), clip::names());
//   auto layer = loader.root().child("text_model").child("encoder").child("layers").child(0);
//   tensor<2> w = layer.get<2>("self_attn.q_proj.weight", {hidden, hidden});
//   loader.check_all_used();   // a tensor left unused is an error
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/core/load_options.hpp"
#include "mmt/core/row_reader.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/checkpoint.hpp"
#include "mmt/io/quantized_format.hpp"

namespace mmt::io {

// One architecture's drift between the names its code asks for and names found in
// checkpoints. Everything here is visible in one table per architecture.
struct name_table {
    // {canonical suffix, stored suffix}: when "x.<canonical>" is absent, "x.<stored>" is tried.
    std::vector<std::pair<std::string, std::string>> suffix_aliases;
    // Tensors that may stay unused (buffers such as position_ids): matched against the name's end.
    std::vector<std::string> ignored_suffixes;
};

class weight_scope;

// A weight a layer packs for a GEMM (weight_scope::get_packed), read from the
// checkpoint as the packing asks for its rows: float32 values, or, from a
// checkpoint `mmt quantize` stored in int8, its levels with their scales. Rows are
// read through the loader, so a packed_source is used while the model loads.
template <std::size_t N>
struct packed_source {
    std::array<std::size_t, N> shape{};
    row_reader rows;   // the weight as [shape[0], the product of the rest]: values, or levels (integers in -127..127) with scales
    tensor<1> scales;  // [shape[0]]: the levels' per-row scales, or empty

    // The scales from row `first` on (ops::pack_weights' int8_scales), or null for float32 values.
    const float* row_scales(std::size_t first = 0) const { return scales.size() ? scales.data() + first : nullptr; }

    // The whole weight, for the packings that reorder it first (convolutions).
    tensor<N> values() const {
        tensor<N> out(shape);
        rows(0, shape[0], out.data());
        return out;
    }
};

// Fills a tensor the model asks for when there is no checkpoint (`mmt random-model`).
using tensor_generator = std::function<void(const std::string& name, const std::vector<std::size_t>& shape, float* out)>;

class weight_loader {
public:
    // A checkpoint `mmt quantize` wrote loads as stored, in its precision and its
    // modules' own: options asking for f32 (the default) or that precision, and for
    // no modules or those, get it; any other is an error.
    weight_loader(checkpoint ckpt, name_table table, load_options options = {})
        : ckpt_(std::move(ckpt)), table_(std::move(table)), stored_(quantized_format::precision_of(ckpt_)), options_(std::move(options)) {
        if (!stored_) return;
        if (options_.linear != precision::f32 && options_.linear != *stored_)
            fail<config_error>(ckpt_.description(), ": holds ", precision_name(*stored_), " weights written by mmt quantize; it loads as ",
                               precision_name(*stored_), ", not ", precision_name(options_.linear));
        options_.linear = *stored_;
        const module_precisions stored_modules = quantized_format::module_precision_of(ckpt_);
        if (!options_.module_precision.empty() && options_.module_precision != stored_modules)
            fail<config_error>(ckpt_.description(), ": mmt quantize stored its modules as '", module_precision_text(stored_modules),
                               "'; it loads so, not as '", module_precision_text(options_.module_precision), "'");
        options_.module_precision = stored_modules;
    }
    weight_loader(const weight_loader&) = delete;
    weight_loader& operator=(const weight_loader&) = delete;

    // A loader without a checkpoint: every tensor the model asks for is made by
    // `generate` and its name and shape recorded, so a checkpoint with exactly the
    // names a config needs can be written. Never used to load a model for real.
    explicit weight_loader(tensor_generator generate, load_options options = {}) : options_(options), generate_(std::move(generate)) {}

    const load_options& options() const { return options_; }

    // The precision of the weights the layer under `module` (a scope's prefix,
    // "a.b.") packs for a GEMM: that of the first of the options' module_precision
    // that is a dotted run of its components, else the options' `linear`.
    precision linear_precision(const std::string& module) {
        if (example_module_.empty()) example_module_ = module.substr(0, module.size() - 1);
        std::optional<precision> decided;
        const std::string dotted = "." + module;
        for (const auto& [name, p] : options_.module_precision) {
            if (dotted.find("." + name + ".") == std::string::npos) continue;
            matched_.insert(name);
            if (decided) continue;
            decided = p;
            deciding_.insert(name);
        }
        return decided.value_or(options_.linear);
    }

    // The precision `mmt quantize` stored the weights in, or none.
    const std::optional<precision>& stored_precision() const { return stored_; }
    // The stored names of the weights taken through get_packed, with the precision each was packed in.
    const std::map<std::string, precision>& packed() const { return packed_; }
    // Names and shapes handed out by a synthesizing loader, in the order asked.
    const std::vector<std::pair<std::string, std::vector<std::size_t>>>& synthesized() const { return synthesized_; }

    weight_scope root();
    const checkpoint& ckpt() const { return ckpt_; }

    // The stored name for a canonical one, or "" when neither it nor an alias exists.
    std::string resolve(const std::string& name) const {
        if (ckpt_.contains(name)) return name;
        for (const auto& [canonical, stored] : table_.suffix_aliases) {
            if (name.size() >= canonical.size() && name.compare(name.size() - canonical.size(), canonical.size(), canonical) == 0) {
                std::string alt = name.substr(0, name.size() - canonical.size()) + stored;
                if (ckpt_.contains(alt)) return alt;
            }
        }
        return {};
    }

    template <std::size_t N>
    tensor<N> take(const std::string& name, const std::array<std::size_t, N>& shape) {
        if (generate_) {
            tensor<N> out(shape);
            synthesized_.emplace_back(name, std::vector<std::size_t>(shape.begin(), shape.end()));
            generate_(name, synthesized_.back().second, out.data());
            return out;
        }
        const tensor_info& t = checked_info(name, {shape.begin(), shape.end()});
        used_.insert(t.name);
        tensor<N> out(shape);
        ckpt_.file_of(t.name).convert_into(t, out.data());
        return out;
    }

    template <std::size_t N>
    packed_source<N> take_packed(const std::string& name, const std::array<std::size_t, N>& shape, precision p) {
        std::size_t cols = 1;
        for (std::size_t i = 1; i < N; ++i) cols *= shape[i];
        if (generate_) {
            packed_[name] = p;
            auto values = std::make_shared<const tensor<N>>(take<N>(name, shape));
            const auto rows = [values, cols](std::size_t first, std::size_t count, float* out) {
                std::copy_n(values->data() + first * cols, count * cols, out);
            };
            return {shape, rows, {}};
        }
        const tensor_info& t = checked_info(name, {shape.begin(), shape.end()});
        const tensor_source& file = ckpt_.file_of(t.name);
        packed_[t.name] = p;
        used_.insert(t.name);
        if (stored_ && t.dtype == dtype::i8 && p != precision::int8)
            fail<format_error>(ckpt_.description(), ": int8 weight '", t.name, "' is asked for in ", precision_name(p),
                               "; does the metadata's '", quantized_format::modules_key, "' match the weights?");
        if (!stored_ || p != precision::int8 || t.dtype != dtype::i8) {
            const auto rows = [&t, &file, cols](std::size_t first, std::size_t count, float* out) {
                file.convert_into(t, first * cols, count * cols, out);
            };
            return {shape, rows, {}};
        }
        const std::string scale_name = t.name + quantized_format::scale_suffix;
        if (!ckpt_.contains(scale_name))
            fail<format_error>(ckpt_.description(), ": int8 weight '", t.name, "' has no scale table '", scale_name, "'");
        const tensor_info& s = ckpt_.info(scale_name);
        if (s.shape != std::vector<std::size_t>{shape[0]} || s.dtype != dtype::f32)
            fail<format_error>(ckpt_.description(), ": scale table '", scale_name, "' is ", dtype_name(s.dtype), " ", shape_string(s.shape),
                               ", expected F32 [", shape[0], "]");
        tensor<1> scales(tensor<1>::shape_type{shape[0]});
        ckpt_.file_of(scale_name).read_bytes(s, scales.data());
        for (std::size_t row = 0; row < shape[0]; ++row)
            if (!(scales(row) > 0) || !std::isfinite(scales(row)))
                fail<format_error>(ckpt_.description(), ": scale table '", scale_name, "' holds ", scales(row), " at row ", row,
                                   ", expected a positive finite scale");
        used_.insert(scale_name);
        const auto levels = [&t, &file, cols](std::size_t first, std::size_t count, float* out) {
            std::vector<std::int8_t> stored(count * cols);
            file.read_elements(t, first * cols, count * cols, stored.data());
            std::copy(stored.begin(), stored.end(), out);
        };
        return {shape, levels, std::move(scales)};
    }

    // Every tensor of the checkpoint must have been taken, except the ignored
    // buffers, and every module of the options' module_precision must have been found.
    void check_all_used() const {
        check_module_precision();
        std::vector<std::string> unused;
        for (const auto& name : ckpt_.names()) {
            if (used_.count(name) || is_ignored(name)) continue;
            unused.push_back(name);
        }
        if (unused.empty()) return;
        std::string list;
        for (std::size_t i = 0; i < unused.size() && i < 5; ++i) list += (i ? ", '" : "'") + unused[i] + "'";
        if (unused.size() > 5) list += ", ... (" + std::to_string(unused.size()) + " in all)";
        fail<weight_error>(ckpt_.description(), ": tensors the model does not use: ", list,
                           "; does config.json (architectures, layer counts) match this checkpoint?");
    }

    // Each pair of the options' module_precision must have decided the precision of
    // a layer whose weights take one: a pair that names none, or only layers an
    // earlier pair decides, has no effect, which is never what it was written for.
    void check_module_precision() const {
        for (const auto& [name, p] : options_.module_precision) {
            if (!matched_.count(name))
                fail<config_error>("module precision '", name, "=", precision_name(p),
                                   "': no module of this model whose weights take a precision is named so",
                                   example_module_.empty() ? std::string() : " (one is '" + example_module_ + "')");
            if (!deciding_.count(name))
                fail<config_error>("module precision '", name, "=", precision_name(p),
                                   "': an earlier pair decides every layer it names; the first pair that matches a layer decides");
        }
    }

private:
    // The stored tensor for canonical `name`, checked to exist with `shape`.
    const tensor_info& checked_info(const std::string& name, const std::vector<std::size_t>& shape) const {
        const std::string stored = resolve(name);
        if (stored.empty()) fail<weight_error>(ckpt_.description(), ": missing tensor '", name, "' (expected shape ", shape_string(shape), ")");
        const tensor_info& t = ckpt_.info(stored);
        if (t.shape != shape)
            fail<weight_error>(ckpt_.description(), ": tensor '", stored, "' has shape ", shape_string(t.shape), ", expected ",
                               shape_string(shape), " from config.json");
        return t;
    }

    bool is_ignored(const std::string& name) const {
        for (const auto& suffix : table_.ignored_suffixes)
            if (name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) return true;
        return false;
    }

    checkpoint ckpt_;
    name_table table_;
    std::optional<precision> stored_;
    load_options options_;
    std::map<std::string, precision> packed_;
    std::set<std::string> matched_;   // the names of module_precision found in a layer's so far
    std::set<std::string> deciding_;  // those that were the first to match one
    std::string example_module_;      // the first module asked about, for check_module_precision's message
    std::set<std::string> used_;
    tensor_generator generate_;
    std::vector<std::pair<std::string, std::vector<std::size_t>>> synthesized_;
};

class weight_scope {
public:
    weight_scope(weight_loader& loader, std::string prefix) : loader_(&loader), prefix_(std::move(prefix)) {}

    weight_scope child(const std::string& name) const { return {*loader_, join(name) + "."}; }
    weight_scope child(std::size_t index) const { return child(std::to_string(index)); }

    // True when the checkpoint holds `name` under this scope (or an alias of it).
    bool has(const std::string& name) const { return !loader_->resolve(join(name)).empty(); }

    template <std::size_t N>
    tensor<N> get(const std::string& name, const std::array<std::size_t, N>& shape) const {
        return loader_->template take<N>(join(name), shape);
    }

    // A weight the layer packs for a GEMM in `precision` (see packed_source).
    template <std::size_t N>
    packed_source<N> get_packed(const std::string& name, const std::array<std::size_t, N>& shape, precision p) const {
        return loader_->template take_packed<N>(join(name), shape, p);
    }

    const std::string& prefix() const { return prefix_; }
    const load_options& options() const { return loader_->options(); }
    // The precision this scope's layer packs its GEMM weights in (weight_loader::linear_precision).
    precision linear_precision() const { return loader_->linear_precision(prefix_); }

private:
    std::string join(const std::string& name) const { return prefix_ + name; }

    weight_loader* loader_;
    std::string prefix_;
};

inline weight_scope weight_loader::root() { return {*this, ""}; }

}  // namespace mmt::io
