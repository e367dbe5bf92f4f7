// LayoutLMv3's forward by HF argument and output names: inputs input_ids, bbox,
// attention_mask, token_type_ids, pixel_values (each but input_ids optional);
// outputs as HF's BaseModelOutput (last_hidden_state), TokenClassifierOutput /
// SequenceClassifierOutput (logits) and QuestionAnsweringModelOutput.
#pragma once

#include "mmt/core/xtensor.hpp"
#include "mmt/models/document_forward_named.hpp"
#include "mmt/models/layoutlmv3/heads.hpp"
#include "mmt/models/named_tensors.hpp"

namespace mmt::layoutlmv3 {

inline named_outputs forward_named(const pretrained_model& model, const named_inputs& in) {
    const model_inputs inputs = document_inputs_named(in, model.architecture_name(), true);
    named_outputs out;
    if (!add_document_head_outputs(model, inputs, out)) out.emplace_back("last_hidden_state", dyn_tensor<float>(model.base_forward(inputs)));
    return out;
}

}  // namespace mmt::layoutlmv3
