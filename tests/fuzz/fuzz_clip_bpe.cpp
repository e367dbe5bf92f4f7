// CLIP's BPE tokenizer on arbitrary bytes: tokenize, encode (truncated and not),
// decode of what it encoded, and decode of arbitrary ids read from the bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "mmt/tokenizers/clip_bpe.hpp"

using namespace mmt;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const auto tokenizer = tokenizers::clip_bpe_tokenizer::from_directory(fuzz::data_path("clip-tokenizer"));
    const std::string text = fuzz::as_string(data, size);
    fuzz::expect_mmt_errors([&] {
        tokenizer.tokenize(text);
        const auto short_ids = tokenizer.encode(text, 77).input_ids;
        const auto all_ids = tokenizer.encode(text, tokenizers::no_max_length, false).input_ids;
        if (short_ids.size() != 77) __builtin_trap();
        tokenizer.decode(short_ids);
        tokenizer.decode(all_ids, false);
    });
    std::vector<std::int64_t> ids;
    for (std::size_t i = 0; i + 1 < size; i += 2) {
        const auto raw = static_cast<std::int64_t>(data[i] | (data[i + 1] << 8));
        ids.push_back(raw % static_cast<std::int64_t>(tokenizer.vocab_size() + 4) - 2);
    }
    fuzz::expect_mmt_errors([&] { tokenizer.decode(ids, size % 2 == 0); });
    return 0;
}
