// Added tokens found through the trie: the same pieces as a search along the list
// (HF's Trie.split as mmt has always read it), at a cost independent of their number.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "mmt/io/json.hpp"
#include "mmt/tokenizers/common.hpp"
#include "mmt/tokenizers/wordpiece.hpp"
#include "support/data.hpp"
#include "support/files.hpp"

using namespace mmt;
using tokenizers::added_token;
using tokenizers::added_vocabulary;
using tokenizers::text_piece;

namespace {

// The longest token written at `pos`, the first listed among equals, by trying each.
const added_token* longest_by_search(std::string_view text, std::size_t pos, const std::vector<added_token>& tokens) {
    const added_token* best = nullptr;
    for (const auto& token : tokens) {
        if (token.content.empty() || text.compare(pos, token.content.size(), token.content) != 0) continue;
        if (!best || token.content.size() > best->content.size()) best = &token;
    }
    return best;
}

std::string random_string(std::mt19937& rng, std::size_t max_length) {
    static constexpr char alphabet[] = "ab c";
    std::string s(std::uniform_int_distribution<std::size_t>(0, max_length)(rng), ' ');
    for (auto& c : s) c = alphabet[std::uniform_int_distribution<int>(0, 3)(rng)];
    return s;
}

}  // namespace

TEST_CASE("tokenizers.added_vocabulary: the longest token at a position, the first listed among equals, as a search finds it" *
          doctest::test_suite("unit")) {
    std::mt19937 rng(17);
    for (int round = 0; round < 300; ++round) {
        std::vector<added_token> tokens;
        const int n = std::uniform_int_distribution<int>(0, 8)(rng);
        for (int i = 0; i < n; ++i)  // short contents over a small alphabet: prefixes, repeats and empty ones
            tokens.push_back({random_string(rng, 4), std::uniform_int_distribution<std::int64_t>(0, 5)(rng), rng() % 2 == 0, rng() % 2 == 0});
        const added_vocabulary vocabulary(tokens);
        const std::string text = random_string(rng, 40);
        for (std::size_t pos = 0; pos <= text.size(); ++pos) CHECK(vocabulary.longest_at(text, pos) == [&]() -> const added_token* {
            const added_token* found = longest_by_search(text, pos, tokens);
            return found ? &vocabulary.tokens()[std::size_t(found - tokens.data())] : nullptr;
        }());
        for (const auto& token : tokens) {
            CHECK(vocabulary.find(token.content)->id == std::find_if(tokens.begin(), tokens.end(), [&](const added_token& t) { return t.content == token.content; })->id);
            CHECK(vocabulary.find(token.id)->content == std::find_if(tokens.begin(), tokens.end(), [&](const added_token& t) { return t.id == token.id; })->content);
        }
        CHECK(vocabulary.find(std::int64_t(99)) == nullptr);
        CHECK(vocabulary.find("abcab c") == nullptr);
    }
    // Longest first, then plain text; lstrip and rstrip eat the spaces beside their token.
    const added_vocabulary v({{"ab", 1}, {"abc", 2}, {"c", 3, true, true}, {"abc", 4}});
    const auto pieces = tokenizers::split_on_added_tokens("xabcd ab  c  e", v);
    const std::vector<std::vector<std::int64_t>> expected = {{0, 1, -1}, {1, 3, 2}, {4, 2, -1}, {6, 2, 1}, {10, 1, 3}, {13, 1, -1}};
    REQUIRE(pieces.size() == expected.size());
    for (std::size_t i = 0; i < pieces.size(); ++i)
        CHECK(std::vector<std::int64_t>{std::int64_t(pieces[i].offset), std::int64_t(pieces[i].length), pieces[i].added_id} == expected[i]);
}

TEST_CASE("tokenizers.added_vocabulary: 50 000 added tokens cost a long text no more than a few" * doctest::test_suite("unit")) {
    // Each byte of the text was compared with every added token, and each token (and
    // each word, against never_split) looked up along a list: 13 s for this text.
    const std::filesystem::path dir = test::scratch_dir("added_50k");
    for (const char* file : {"vocab.txt", "special_tokens_map.json"})
        std::filesystem::copy_file(test::data_path("layoutlm-tokenizer") / file, dir / file);
    io::json config = io::read_json_file(test::data_path("layoutlm-tokenizer") / "tokenizer_config.json");
    const std::int64_t first_id = 1000;
    for (std::int64_t i = 0; i < 50'000; ++i)
        config["added_tokens_decoder"][std::to_string(first_id + i)] = {{"content", "<extra_" + std::to_string(i) + ">"}};
    for (std::int64_t i = 0; i < 50'000; ++i) config["never_split"].push_back("keep_" + std::to_string(i));
    test::write_file(dir / "tokenizer_config.json", config.dump());
    const auto tokenizer = tokenizers::wordpiece_tokenizer::from_directory(dir);

    std::string text;
    while (text.size() < 200'000) text += "total <extra_" + std::to_string(text.size() % 50'000) + "> [SEP]<extra_7>x keep_3 ";
    const auto start = std::chrono::steady_clock::now();
    const auto ids = tokenizer.convert_tokens_to_ids(tokenizer.tokenize(text));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    CHECK(seconds < 2.0);
    CHECK(tokenizer.convert_tokens_to_ids(tokenizer.tokenize("total <extra_12> [SEP]<extra_7>x <extra_")) ==
          std::vector<std::int64_t>{16, first_id + 12, 3, first_id + 7, tokenizer.convert_tokens_to_ids({"x"})[0],
                                    tokenizer.convert_tokens_to_ids({"<"})[0], tokenizer.convert_tokens_to_ids({"extra"})[0],
                                    tokenizer.convert_tokens_to_ids({"_"})[0]});
    CHECK(tokenizer.decode({first_id + 49'999}, false) == "<extra_49999>");
    CHECK(tokenizer.tokenize("keep_49999") == std::vector<std::string>{"keep_49999"});  // in never_split: kept whole
    CHECK(tokenizer.tokenize("keep_50000").size() > 1);
    CHECK(ids.size() > 20'000);
}
