// LayoutLM's words + boxes encoder. Input: 3 option bytes (max_length, stride,
// flags), then one word per line, each line's first 8 bytes its box (4 signed
// 16-bit numbers, so coordinates fall on and off the 0..1000 grid).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "mmt/tokenizers/layoutlm_words.hpp"
#include "mmt/tokenizers/wordpiece.hpp"

using namespace mmt;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const auto tokenizer = tokenizers::wordpiece_tokenizer::from_directory(fuzz::data_path("layoutlm-tokenizer"));
    if (size < 3) return 0;
    tokenizers::boxed_options options;
    options.max_length = data[0] % 40;
    const std::size_t stride = data[1] % 40;
    options.truncation = data[2] & 1;
    options.clamp_boxes = data[2] & 2;
    options.pad_to_max_length = data[2] & 4;

    std::vector<std::string> words;
    std::vector<tokenizers::word_box> boxes;
    const std::string rest = fuzz::as_string(data + 3, size - 3);
    for (std::size_t pos = 0; pos <= rest.size();) {
        std::size_t end = rest.find('\n', pos);
        if (end == std::string::npos) end = rest.size();
        std::string line = rest.substr(pos, end - pos);
        pos = end + 1;
        tokenizers::word_box box{};
        for (std::size_t k = 0; k < 4; ++k) {
            const auto lo = static_cast<unsigned char>(k * 2 < line.size() ? line[k * 2] : 0);
            const auto hi = static_cast<unsigned char>(k * 2 + 1 < line.size() ? line[k * 2 + 1] : 0);
            box[k] = static_cast<std::int16_t>(lo | (hi << 8));
        }
        words.push_back(line.size() > 8 ? line.substr(8) : std::string());
        boxes.push_back(box);
    }
    if (data[2] & 8) boxes.pop_back();  // words and boxes of different lengths
    fuzz::expect_mmt_errors([&] {
        const auto e = tokenizers::encode_words(tokenizer, words, boxes, options);
        if (e.bbox.size() != e.input_ids.size() || e.word_ids.size() != e.input_ids.size()) __builtin_trap();
    });
    fuzz::expect_mmt_errors([&] { tokenizers::encode_words_windows(tokenizer, words, boxes, stride, options); });
    return 0;
}
