// fixtures/layoutlm-tiny-token-cls as a complete model directory with a tokenizer,
// made once per test run. The fixture has no vocab.txt and the layoutlm-tokenizer
// fixture's has 121 lines for a model of vocab_size 99, so ids 99..120 would have no
// embedding row. A tokenizer belongs to a model when its ids are the model's rows:
// the first vocab_size lines of vocab.txt keep their ids (id = line number) and
// hold every special token (ids 0..4), so they are that tokenizer. Words whose
// pieces lived in the cut lines ("2019", "?") fall back to shorter pieces or [UNK],
// as with any vocabulary. Growing the model instead (HF's resize_token_embeddings)
// would invent weights.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>

#include "mmt/models/layoutlm/config.hpp"
#include "support/data.hpp"

namespace mmt::test {

inline std::filesystem::path layoutlm_token_cls_model() {
    static const std::filesystem::path dir = [] {
        namespace fs = std::filesystem;
        const fs::path out = scratch_dir("layoutlm_token_cls_model");
        const fs::path model = data_path("layoutlm-tiny-token-cls"), tokenizer = data_path("layoutlm-tokenizer");
        for (const char* f : {"config.json", "model.safetensors"}) fs::copy_file(model / f, out / f);
        for (const char* f : {"tokenizer_config.json", "special_tokens_map.json"}) fs::copy_file(tokenizer / f, out / f);
        const std::size_t vocab_size = layoutlm::config::from_file(model / "config.json").vocab_size;
        std::ifstream in(tokenizer / "vocab.txt");
        std::ofstream vocab(out / "vocab.txt");
        std::string line;
        for (std::size_t i = 0; i < vocab_size && std::getline(in, line); ++i) vocab << line << '\n';
        return out;
    }();
    return dir;
}

}  // namespace mmt::test
