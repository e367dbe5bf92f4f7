// LayoutLMv3's forward by HF argument and output names: inputs input_ids, bbox,
// attention_mask, token_type_ids, pixel_values (each but input_ids optional);
// outputs as HF's BaseModelOutput (last_hidden_state), TokenClassifierOutput /
// SequenceClassifierOutput (logits) and QuestionAnsweringModelOutput.
#pragma once

#include <string>

#include "mmt/models/layoutlmv3/heads.hpp"
#include "mmt/models/named_tensors.hpp"

namespace mmt::layoutlmv3 {

inline named_outputs forward_named(const pretrained_model& model, const named_inputs& in) {
    const std::string who = model.architecture_name();
    const model_inputs inputs{in.get_ints<2>("input_ids", who), in.get_ints_or_empty<3>("bbox", who),
                              in.get_ints_or_empty<2>("attention_mask", who), in.get_ints_or_empty<2>("token_type_ids", who),
                              in.get_floats_or_empty<4>("pixel_values", who)};
    named_outputs out;
    auto add = [&](const std::string& name, const auto& t) { out.emplace_back(name, dyn_tensor<float>(t)); };
    switch (model.config.arch) {
        case architecture::model: add("last_hidden_state", model.base_forward(inputs)); break;
        case architecture::token_classification: add("logits", model.token_logits(inputs)); break;
        case architecture::sequence_classification: add("logits", model.sequence_logits(inputs)); break;
        case architecture::question_answering: {
            const span_logits o = model.question_answering(inputs);
            add("start_logits", o.start_logits);
            add("end_logits", o.end_logits);
            break;
        }
    }
    return out;
}

}  // namespace mmt::layoutlmv3
