// Tensors by HF argument or output name, the interface `mmt forward` uses to
// run any architecture: inputs "input_ids", "pixel_values", ... in, outputs
// "logits", "text_model.last_hidden_state", ... out.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/safetensors.hpp"

namespace mmt {

struct named_inputs {
    std::map<std::string, dyn_tensor<std::int64_t>> ints;  // ids, masks, boxes
    std::map<std::string, dyn_tensor<float>> floats;       // pixel values, audio

    // The tensors named "<prefix><argument>" of a safetensors file (the fixtures'
    // reference.safetensors layout: prefix "input."); others are ignored.
    static named_inputs from_file(const io::safetensors_file& file, const std::string& prefix = "input.") {
        named_inputs in;
        for (const auto& name : file.names()) {
            if (name.compare(0, prefix.size(), prefix) != 0) continue;
            const std::string argument = name.substr(prefix.size());
            switch (file.info(name).dtype) {
                case dtype::f64:
                case dtype::f32:
                case dtype::f16:
                case dtype::bf16: in.floats[argument] = file.load<float>(name); break;
                default: in.ints[argument] = file.load<std::int64_t>(name); break;
            }
        }
        return in;
    }

    bool has(const std::string& name) const { return ints.count(name) || floats.count(name); }

    // Required integer input of rank N; `model` names the caller in errors.
    template <std::size_t N>
    int_tensor<N> get_ints(const std::string& name, const std::string& model) const {
        auto it = ints.find(name);
        if (it == ints.end()) fail<input_error>(model, " needs the integer input '", name, "'", listing());
        return ranked<std::int64_t, N>(it->second, name, model);
    }
    // Optional integer input: empty when absent.
    template <std::size_t N>
    int_tensor<N> get_ints_or_empty(const std::string& name, const std::string& model) const {
        return ints.count(name) ? get_ints<N>(name, model) : int_tensor<N>();
    }
    template <std::size_t N>
    tensor<N> get_floats(const std::string& name, const std::string& model) const {
        auto it = floats.find(name);
        if (it == floats.end()) fail<input_error>(model, " needs the float input '", name, "'", listing());
        return ranked<float, N>(it->second, name, model);
    }
    // Optional float input: empty when absent.
    template <std::size_t N>
    tensor<N> get_floats_or_empty(const std::string& name, const std::string& model) const {
        return floats.count(name) ? get_floats<N>(name, model) : tensor<N>();
    }

private:
    template <class T, std::size_t N>
    static xt::xtensor<T, N> ranked(const dyn_tensor<T>& t, const std::string& name, const std::string& model) {
        if (t.dimension() != N)
            fail<shape_error>(model, ": input '", name, "' has rank ", t.dimension(), ", expected rank ", N);
        std::array<std::size_t, N> shape{};
        std::copy(t.shape().begin(), t.shape().end(), shape.begin());
        xt::xtensor<T, N> out(shape);
        std::copy(t.begin(), t.end(), out.begin());
        return out;
    }
    std::string listing() const {
        std::string s = "; inputs given:";
        for (const auto& [name, t] : ints) s += " " + name;
        for (const auto& [name, t] : floats) s += " " + name;
        return ints.empty() && floats.empty() ? "; no inputs were given" : s;
    }
};

// Outputs in the order the model returns them, float32 as HF's.
using named_outputs = std::vector<std::pair<std::string, dyn_tensor<float>>>;

}  // namespace mmt
