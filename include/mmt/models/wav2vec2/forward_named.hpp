// The wav2vec2-like models' forward by argument and output names, as HF's heads
// return them: the body (last_hidden_state, and extract_features except for
// HuBERT), *ForCTC and *ForSequenceClassification (logits, and the body's),
// Wav2Vec2ForPreTraining (projected_states, projected_quantized_states,
// codevector_perplexity, the quantizer's quantized_features and
// codevector_indices (as float), and the body's).
#pragma once

#include <cstdint>

#include "mmt/models/named_tensors.hpp"
#include "mmt/models/wav2vec2/wav2vec2_model.hpp"

namespace mmt::wav2vec2 {

inline named_outputs forward_named(const wav2vec2_model& model, const named_inputs& in) {
    const std::string who = model.config.architecture_name();
    const tensor<2> input_values = in.get_floats<2>("input_values", who);
    const int_tensor<2> attention_mask = in.get_ints_or_empty<2>("attention_mask", who);
    const int_tensor<2> mask_time_indices = in.get_ints_or_empty<2>("mask_time_indices", who);
    named_outputs out;
    auto add = [&](const std::string& name, const auto& t) { out.emplace_back(name, dyn_tensor<float>(t)); };
    auto add_base = [&](const base_output& o) {
        add("last_hidden_state", o.last_hidden_state);
        if (model.config.has_extract_features()) add("extract_features", o.extract_features);
    };
    const auto no_mask_time_indices = [&] {
        if (mask_time_indices.size() != 0)
            fail<input_error>(who, ": mask_time_indices is an input of the bare model and Wav2Vec2ForPreTraining only");
    };
    switch (model.config.arch) {
        case architecture::model: add_base(model.forward(input_values, attention_mask, mask_time_indices)); break;
        case architecture::ctc: {
            no_mask_time_indices();
            const ctc_output o = model.forward_ctc(input_values, attention_mask);
            add("logits", o.logits);
            add_base(o.wav2vec2);
            break;
        }
        case architecture::sequence_classification: {
            no_mask_time_indices();
            const sequence_classification_output o = model.forward_sequence_classification(input_values, attention_mask);
            add("logits", o.logits);
            add_base(o.wav2vec2);
            break;
        }
        case architecture::pretraining: {
            const pretraining_output o = model.forward_pretraining(input_values, attention_mask, mask_time_indices);
            add("projected_states", o.projected_states);
            add("projected_quantized_states", o.projected_quantized_states);
            add("codevector_perplexity", tensor<1>{o.codevector_perplexity});
            add("quantized_features", o.quantized_features);
            add("codevector_indices", xt::cast<float>(o.codevector_indices));
            add_base(o.wav2vec2);
            break;
        }
    }
    return out;
}

}  // namespace mmt::wav2vec2
