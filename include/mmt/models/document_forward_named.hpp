// What the layout families' forward_named share (models/named_tensors.hpp, the
// interface `mmt forward` runs): a batch read by HF's argument names, and the
// outputs of the heads every layout family has by HF's output names.
#pragma once

#include <string>

#include "mmt/core/xtensor.hpp"
#include "mmt/models/interfaces/document_input.hpp"
#include "mmt/models/named_tensors.hpp"
#include "mmt/models/span_logits.hpp"

namespace mmt {

// input_ids, and bbox, attention_mask and token_type_ids when given; pixel_values too
// (when given) for a model that reads the page. `who` names the model in errors.
inline interfaces::document_inputs document_inputs_named(const named_inputs& in, const std::string& who, bool reads_page) {
    interfaces::document_inputs d{in.get_ints<2>("input_ids", who), in.get_ints_or_empty<3>("bbox", who),
                                  in.get_ints_or_empty<2>("attention_mask", who), in.get_ints_or_empty<2>("token_type_ids", who)};
    if (reads_page) d.pixel_values = in.get_floats_or_empty<4>("pixel_values", who);
    return d;
}

// TokenClassifierOutput and SequenceClassifierOutput (logits), QuestionAnsweringModelOutput
// (start_logits, end_logits), appended to `out` for a checkpoint of one of those heads;
// false for another architecture, whose outputs the family adds itself.
template <class Model>
bool add_document_head_outputs(const Model& model, const interfaces::document_inputs& in, named_outputs& out) {
    using architecture = decltype(model.config.arch);
    switch (model.config.arch) {
        case architecture::token_classification: out.emplace_back("logits", dyn_tensor<float>(model.token_logits(in))); return true;
        case architecture::sequence_classification: out.emplace_back("logits", dyn_tensor<float>(model.sequence_logits(in))); return true;
        case architecture::question_answering: {
            const span_logits o = model.question_answering(in);
            out.emplace_back("start_logits", dyn_tensor<float>(o.start_logits));
            out.emplace_back("end_logits", dyn_tensor<float>(o.end_logits));
            return true;
        }
        default: return false;
    }
}

}  // namespace mmt
