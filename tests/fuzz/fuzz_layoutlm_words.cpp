// The words + boxes encoder through LayoutLM's WordPiece and LayoutLMv3's byte-level
// BPE (with word labels, and the first line as a question: one pair, and the
// question-answering windows).
// Input: 3 option bytes (max_length, stride, flags), then one word per line, each
// line's first 8 bytes its box (4 signed 16-bit numbers, so coordinates fall on and
// off the 0..1000 grid).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "mmt/tokenizers/layoutlm_words.hpp"
#include "mmt/tokenizers/roberta_word_tokenizer.hpp"
#include "mmt/tokenizers/wordpiece.hpp"

using namespace mmt;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const auto wordpiece = tokenizers::wordpiece_tokenizer::from_directory(fuzz::data_path("layoutlm-tokenizer"));
    static const auto bpe = tokenizers::roberta_word_tokenizer::from_pretrained(fuzz::data_path("layoutlmv3-tokenizer"));
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
    std::vector<std::int64_t> labels(words.size());
    for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = std::int64_t(i % 7);
    if (data[2] & 16) labels.clear();
    const auto check = [](const tokenizers::boxed_encoding& e) {
        const std::size_t n = e.input_ids.size();
        if (e.bbox.size() != n || e.word_ids.size() != n || (!e.labels.empty() && e.labels.size() != n)) __builtin_trap();
    };
    for (const tokenizers::word_tokenizer* tokenizer : {static_cast<const tokenizers::word_tokenizer*>(&wordpiece),
                                                        static_cast<const tokenizers::word_tokenizer*>(&bpe)}) {
        fuzz::expect_mmt_errors([&] { check(tokenizers::encode_words(*tokenizer, words, boxes, options, labels)); });
        fuzz::expect_mmt_errors([&] {
            for (const auto& e : tokenizers::encode_words_windows(*tokenizer, words, boxes, stride, options, labels)) check(e);
        });
        // The first line as a question about the others: one pair, and the question-answering windows.
        const std::vector<std::string> rest_words(words.begin() + 1, words.end());
        const std::vector<tokenizers::word_box> rest_boxes(boxes.begin() + (boxes.empty() ? 0 : 1), boxes.end());
        fuzz::expect_mmt_errors([&] { check(tokenizers::encode_question(*tokenizer, words.front(), rest_words, rest_boxes, options)); });
        fuzz::expect_mmt_errors([&] {
            for (const auto& e : tokenizers::encode_question_windows(*tokenizer, words.front(), rest_words, rest_boxes, stride, options)) check(e);
        });
    }
    return 0;
}
