// Every tokenizer on arbitrary bytes, each with its fixture in tests/data: CLIP's
// BPE, WordPiece (LayoutLM's vocabulary and Chinese-CLIP's), RoBERTa's byte-level
// BPE (LayoutLMv3's) and SigLIP's SentencePiece. Each tokenizes and encodes the
// text, decodes what it encoded where it has a decoder, and turns arbitrary ids
// read from the same bytes (the vocabulary's and a few past either end) back.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "mmt/tokenizers/clip_bpe.hpp"
#include "mmt/tokenizers/roberta_bpe.hpp"
#include "mmt/tokenizers/siglip_tokenizer.hpp"
#include "mmt/tokenizers/wordpiece.hpp"

using namespace mmt;

namespace {

constexpr std::size_t short_length = 16;

// Two bytes to an id in -2 .. vocab_size + 1.
std::vector<std::int64_t> arbitrary_ids(const std::uint8_t* data, std::size_t size, std::size_t vocab_size) {
    std::vector<std::int64_t> ids;
    for (std::size_t i = 0; i + 1 < size; i += 2) {
        const auto raw = static_cast<std::int64_t>(data[i] | (data[i + 1] << 8));
        ids.push_back(raw % static_cast<std::int64_t>(vocab_size + 4) - 2);
    }
    return ids;
}

// CLIP's BPE and WordPiece, which share encode's and decode's shape.
template <class Tokenizer>
void encode_and_decode(const Tokenizer& tokenizer, const std::string& text, const std::vector<std::int64_t>& ids, bool skip_special) {
    fuzz::expect_mmt_errors([&] {
        tokenizer.tokenize(text);
        const auto short_ids = tokenizer.encode(text, short_length).input_ids;
        const auto all_ids = tokenizer.encode(text, tokenizers::no_max_length, false).input_ids;
        if (short_ids.size() != short_length) __builtin_trap();
        tokenizer.decode(short_ids);
        tokenizer.decode(all_ids, false);
    });
    fuzz::expect_mmt_errors([&] { tokenizer.decode(ids, skip_special); });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const auto clip = tokenizers::clip_bpe_tokenizer::from_directory(fuzz::data_path("clip-tokenizer"));
    static const auto layoutlm = tokenizers::wordpiece_tokenizer::from_directory(fuzz::data_path("layoutlm-tokenizer"));
    static const auto chinese_clip = tokenizers::wordpiece_tokenizer::from_directory(fuzz::data_path("chinese-clip-tokenizer"));
    static const auto roberta = tokenizers::roberta_bpe_tokenizer::from_pretrained(fuzz::data_path("layoutlmv3-tokenizer"), true);
    static const auto siglip = tokenizers::siglip_tokenizer::from_pretrained(fuzz::data_path("siglip-tokenizer"));
    const std::string text = fuzz::as_string(data, size);
    const bool skip_special = size % 2 == 0;

    encode_and_decode(clip, text, arbitrary_ids(data, size, clip.vocab_size()), skip_special);
    encode_and_decode(layoutlm, text, arbitrary_ids(data, size, layoutlm.vocab_size()), skip_special);
    encode_and_decode(chinese_clip, text, arbitrary_ids(data, size, chinese_clip.vocab_size()), skip_special);

    fuzz::expect_mmt_errors([&] { roberta.decode(roberta.convert_tokens_to_ids(roberta.tokenize(text)), false); });
    const auto roberta_ids = arbitrary_ids(data, size, roberta.vocab_size());
    fuzz::expect_mmt_errors([&] { roberta.convert_ids_to_tokens(roberta_ids); });
    fuzz::expect_mmt_errors([&] { roberta.decode(roberta_ids, skip_special); });

    fuzz::expect_mmt_errors([&] {
        if (siglip.encode(text, short_length).size() != short_length) __builtin_trap();
        siglip.encode(text, tokenizers::no_max_length, false);
        siglip.tokens(text);
    });
    return 0;
}
