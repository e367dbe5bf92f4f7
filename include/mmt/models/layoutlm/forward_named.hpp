// LayoutLM's forward by HF argument and output names: inputs input_ids, bbox,
// attention_mask, token_type_ids; outputs as HF's BaseModelOutputWithPooling
// (last_hidden_state, pooler_output), TokenClassifierOutput /
// SequenceClassifierOutput / MaskedLMOutput (logits) and
// QuestionAnsweringModelOutput (start_logits, end_logits).
#pragma once

#include "mmt/core/xtensor.hpp"
#include "mmt/models/document_forward_named.hpp"
#include "mmt/models/layoutlm/heads.hpp"
#include "mmt/models/named_tensors.hpp"

namespace mmt::layoutlm {

inline named_outputs forward_named(const pretrained_model& model, const named_inputs& in) {
    const model_inputs inputs = document_inputs_named(in, model.architecture_name(), false);
    named_outputs out;
    if (add_document_head_outputs(model, inputs, out)) return out;
    if (model.config.arch == architecture::masked_lm) {
        out.emplace_back("logits", dyn_tensor<float>(model.masked_lm_logits(inputs)));
        return out;
    }
    const model_output o = model.base_forward(inputs);
    out.emplace_back("last_hidden_state", dyn_tensor<float>(o.last_hidden_state));
    out.emplace_back("pooler_output", dyn_tensor<float>(o.pooler_output));
    return out;
}

}  // namespace mmt::layoutlm
