// The fixture tokenizers, loaded once per test process: CLIP's BPE
// (clip-tokenizer) and LayoutLM's WordPiece (layoutlm-tokenizer, BERT's vocabulary).
#pragma once

#include "mmt/tokenizers/clip_bpe.hpp"
#include "mmt/tokenizers/wordpiece.hpp"
#include "support/data.hpp"

namespace mmt::test {

inline const tokenizers::clip_bpe_tokenizer& clip_tokenizer() {
    static const auto tokenizer = tokenizers::clip_bpe_tokenizer::from_directory(data_path("clip-tokenizer"));
    return tokenizer;
}

inline const tokenizers::wordpiece_tokenizer& bert_tokenizer() {
    static const auto tokenizer = tokenizers::wordpiece_tokenizer::from_directory(data_path("layoutlm-tokenizer"));
    return tokenizer;
}

}  // namespace mmt::test
