// mmt tokenize: token ids as the model's tokenizer gives them, one JSON line per input.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "option_checks.hpp"
#include "mmt/io/json.hpp"
#include "mmt/models/clip/config.hpp"
#include "mmt/tokenizers/clip_bpe.hpp"

namespace mmt::cli {

namespace {
// The CLIP text tower's position count when DIR has a config.json, else the tokenizer's limit.
std::size_t clip_default_length(const std::filesystem::path& dir, const tokenizers::clip_bpe_tokenizer& tokenizer) {
    if (!std::filesystem::exists(dir / "config.json")) return tokenizer.model_max_length();
    const auto config = clip::config::from_file(dir / "config.json");
    return std::min(tokenizer.model_max_length(), config.text.max_position_embeddings);
}
}  // namespace

void add_tokenize(CLI::App& app) {
    struct options {
        std::filesystem::path model;
        std::size_t max_length = 0;
        std::vector<std::string> texts;
        std::filesystem::path words_json;
    };
    auto o = std::make_shared<options>();
    auto* cmd = app.add_subcommand("tokenize", "Token ids and attention mask of texts, one JSON line each, padded to the max length");
    cmd->add_option("--model", o->model, "Model directory with the tokenizer files (vocab.json + merges.txt, or vocab.txt)")->required();
    cmd->add_option("--max-length", o->max_length, "Pad and truncate to N tokens (default: the model's, 77 for CLIP)")
        ->check(in_range<std::size_t>(2, std::size_t{1} << 20));
    auto* texts = cmd->add_option("TEXT", o->texts, "Texts to tokenize");
    auto* words = cmd->add_option("--words-json", o->words_json,
                                  "Words + boxes for a document model (LayoutLM, LayoutLMv3, LiLT): {\"words\": [...], \"boxes\": "
                                  "[[x0, y0, x1, y1], ...]} with optional \"max_length\", \"word_labels\", \"question\" -> input_ids, bbox, "
                                  "attention_mask (+ token_type_ids for WordPiece, labels with word_labels)");
    texts->excludes(words);
    cmd->callback([o, texts, words] {
        if (texts->count() == 0 && words->count() == 0) fail<input_error>("tokenize: give TEXT... or --words-json FILE");
        if (words->count()) return tokenize_words(o->model, o->max_length, o->words_json);
        if (std::filesystem::exists(o->model / "vocab.txt")) return tokenize_wordpiece(o->model, o->max_length, o->texts);
        if (!std::filesystem::exists(o->model / "vocab.json") || !std::filesystem::exists(o->model / "merges.txt"))
            fail<io_error>("tokenize: '", o->model.string(), "' has no vocab.json + merges.txt (a CLIP tokenizer)");
        const auto tokenizer = tokenizers::clip_bpe_tokenizer::from_directory(o->model);
        const std::size_t length = o->max_length ? o->max_length : clip_default_length(o->model, tokenizer);
        for (const auto& text : o->texts) {
            const auto e = tokenizer.encode(text, length, true);
            const io::ordered_json line = {{"input_ids", e.input_ids}, {"attention_mask", e.attention_mask}};
            std::printf("%s\n", line.dump().c_str());
        }
    });
}

}  // namespace mmt::cli
