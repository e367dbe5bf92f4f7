// LiLT's forward by HF argument and output names: inputs input_ids, bbox,
// attention_mask, token_type_ids; outputs as HF's BaseModelOutputWithPooling,
// TokenClassifierOutput / SequenceClassifierOutput (logits) and
// QuestionAnsweringModelOutput.
#pragma once

#include <string>

#include "mmt/models/lilt/heads.hpp"
#include "mmt/models/named_tensors.hpp"

namespace mmt::lilt {

inline named_outputs forward_named(const pretrained_model& model, const named_inputs& in) {
    const std::string who = model.architecture_name();
    const model_inputs inputs{in.get_ints<2>("input_ids", who), in.get_ints_or_empty<3>("bbox", who),
                              in.get_ints_or_empty<2>("attention_mask", who), in.get_ints_or_empty<2>("token_type_ids", who)};
    named_outputs out;
    auto add = [&](const std::string& name, const auto& t) { out.emplace_back(name, dyn_tensor<float>(t)); };
    switch (model.config.arch) {
        case architecture::model: {
            const model_output o = model.base_forward(inputs);
            add("last_hidden_state", o.last_hidden_state);
            add("pooler_output", o.pooler_output);
            break;
        }
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

}  // namespace mmt::lilt
