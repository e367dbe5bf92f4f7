// What encode_words (tokenizers/layoutlm_words.hpp) and the document pipeline
// (pipelines/document_tagging.hpp) need of a tokenizer over pre-split OCR words:
// the ids of one word, the special ids that frame and pad a sequence, the limits,
// and decode for the masked-LM fill. LayoutLM's WordPiece (tokenizers/wordpiece.hpp)
// implements it; LayoutLMv3's byte-level BPE is the same shape, with <s>, </s> and
// pad id 1 as its specials and a space before every word (add_prefix_space).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mmt::tokenizers {

// Implementations are loaded once, then const: every method may be called from many
// threads at once.
class word_tokenizer {
public:
    virtual ~word_tokenizer() = default;

    // The ids of one word of a document, no special tokens added; `first_word` is true
    // for the first word with text (a tokenizer that puts a space before words may
    // treat it apart). HF's tokenize + convert_tokens_to_ids on the word, as
    // prepare_for_model runs them for pre-split words. input_error on invalid UTF-8.
    virtual std::vector<std::int64_t> encode_word(const std::string& word, bool first_word) const = 0;
    // Ids back to text; input_error for an id the tokenizer does not know.
    virtual std::string decode(const std::vector<std::int64_t>& ids, bool skip_special_tokens) const = 0;

    virtual std::int64_t cls_token_id() const = 0;   // opens every sequence ([CLS], <s>)
    virtual std::int64_t sep_token_id() const = 0;   // closes it ([SEP], </s>)
    virtual std::int64_t pad_token_id() const = 0;
    virtual std::int64_t mask_token_id() const = 0;  // what fill_mask fills in
    virtual std::int64_t unk_token_id() const = 0;
    // HF's vocab_size (added tokens not counted): the model's word embeddings need at
    // least as many rows.
    virtual std::size_t vocab_size() const = 0;
    // tokenizer_config.json's model_max_length; no_max_length (common.hpp) when unset.
    virtual std::size_t model_max_length() const = 0;
    // encode_words refuses documents of more bytes of text.
    virtual std::size_t max_input_bytes() const = 0;

protected:
    word_tokenizer() = default;
    word_tokenizer(const word_tokenizer&) = default;
    word_tokenizer& operator=(const word_tokenizer&) = default;
};

}  // namespace mmt::tokenizers
