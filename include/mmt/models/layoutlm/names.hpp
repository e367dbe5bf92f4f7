// Where LayoutLM keeps its weights, and every way checkpoints drift from HF's
// current names, in one table:
//   - the "layoutlm." prefix: heads store the body under it, a saved LayoutLMModel
//     does not; which one a file uses is decided once, from the file;
//   - LayerNorm gamma/beta: checkpoints converted from TensorFlow BERT code name
//     the LayerNorm affine parameters gamma and beta instead of weight and bias;
//   - embeddings.position_ids: a buffer older files carry, never a weight;
//   - the masked-LM decoder: tied to the word embeddings, so save_pretrained
//     leaves cls.predictions.decoder.weight out (and writes the shared output
//     bias once, as cls.predictions.bias; older files repeat it as
//     cls.predictions.decoder.bias).
#pragma once

#include <string>

#include "mmt/io/weight_scope.hpp"
#include "mmt/layers/encoder_layer.hpp"
#include "mmt/models/layoutlm/config.hpp"

namespace mmt::layoutlm {

// HF's base_model_prefix.
inline const std::string base_model_prefix = "layoutlm";

// The masked-LM decoder weight; absent when tied to the word embeddings.
inline const std::string decoder_weight_name = "cls.predictions.decoder.weight";

inline io::name_table checkpoint_names() {
    return {{{"LayerNorm.weight", "LayerNorm.gamma"},
             {"LayerNorm.bias", "LayerNorm.beta"},
             {"cls.predictions.bias", "cls.predictions.decoder.bias"}},
            {"embeddings.position_ids", "cls.predictions.decoder.bias"}};
}

// The scope of LayoutLMModel's own tensors: "layoutlm." when the file stores any
// tensor under that prefix, "" when it stores none. Without a file (a synthesizing
// loader) the names save_pretrained would write: prefixed for every head.
inline io::weight_scope base_model_scope(io::weight_loader& loader, architecture arch) {
    const auto names = loader.ckpt().names();
    bool prefixed = arch != architecture::model;
    if (!names.empty()) {
        prefixed = false;
        for (const auto& name : names)
            if (name.compare(0, base_model_prefix.size() + 1, base_model_prefix + ".") == 0) prefixed = true;
    }
    const io::weight_scope root = loader.root();
    return prefixed ? root.child(base_model_prefix) : root;
}

}  // namespace mmt::layoutlm
