// The word tokenizers the document pipeline (document_tagging.hpp) can load, chosen
// by config.json's model_type the way auto_model chooses a family (with_family,
// models/family.hpp). Another one is an entry with `model_types` and
// `from_pretrained(dir)` giving its tokenizers::word_tokenizer, plus one entry in
// the list; the pipeline does not change (the boxes of the specials are the
// tokenizer's too).
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "mmt/io/json.hpp"
#include "mmt/models/family.hpp"
#include "mmt/models/layoutlm/family.hpp"
#include "mmt/models/layoutlmv3/family.hpp"
#include "mmt/models/lilt/family.hpp"
#include "mmt/tokenizers/roberta_word_tokenizer.hpp"
#include "mmt/tokenizers/word_tokenizer.hpp"
#include "mmt/tokenizers/wordpiece.hpp"

namespace mmt::pipelines {

// LayoutLM's: BERT WordPiece from vocab.txt (+ tokenizer_config.json,
// special_tokens_map.json), or for a checkpoint with RoBERTa's vocabulary
// (impira/layoutlm-document-qa) its byte-level BPE from vocab.json + merges.txt, the
// [SEP] box LayoutLM's either way.
struct layoutlm_word_tokenizer {
    static constexpr auto model_types = layoutlm::family::model_types;
    static std::shared_ptr<const tokenizers::word_tokenizer> from_pretrained(const std::filesystem::path& dir) {
        namespace fs = std::filesystem;
        if (!fs::exists(dir / "vocab.txt") && fs::exists(dir / "vocab.json") && fs::exists(dir / "merges.txt"))
            return std::make_shared<const tokenizers::roberta_word_tokenizer>(
                tokenizers::roberta_word_tokenizer::from_pretrained(dir, tokenizers::roberta_words_convention::layoutlm));
        return std::make_shared<const tokenizers::wordpiece_tokenizer>(tokenizers::wordpiece_tokenizer::from_directory(dir));
    }
};

// LayoutLMv3's: RoBERTa's byte-level BPE from vocab.json + merges.txt (+ tokenizer_config.json,
// special_tokens_map.json), a space before every word, specials boxed at zeros.
struct layoutlmv3_word_tokenizer {
    static constexpr auto model_types = layoutlmv3::family::model_types;
    static std::shared_ptr<const tokenizers::word_tokenizer> from_pretrained(const std::filesystem::path& dir) {
        return std::make_shared<const tokenizers::roberta_word_tokenizer>(tokenizers::roberta_word_tokenizer::from_pretrained(dir));
    }
};

// LiLT checkpoints ship LayoutLMv3's tokenizer.
struct lilt_word_tokenizer : layoutlmv3_word_tokenizer {
    static constexpr auto model_types = lilt::family::model_types;
};

using document_tokenizers = family_list<layoutlm_word_tokenizer, layoutlmv3_word_tokenizer, lilt_word_tokenizer>;

// The tokenizer whose model_types hold the model_type of dir/config.json, loaded from
// `dir`; a config_error naming the model_type and those the tokenizers read when none does.
inline std::shared_ptr<const tokenizers::word_tokenizer> document_tokenizer_from_pretrained(const std::filesystem::path& dir) {
    const std::string config_path = (dir / "config.json").string();
    const std::string model_type = model_type_of(io::read_json_file(config_path), config_path);
    return with_family(document_tokenizers{}, model_type, config_path + " (document word tokenizer)",
                       [&](auto tag) { return decltype(tag)::type::from_pretrained(dir); });
}

}  // namespace mmt::pipelines
