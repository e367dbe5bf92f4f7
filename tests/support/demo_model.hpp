// The tiny random-weight CLIP of examples/models/clip-demo as a complete model
// directory (what scripts/make-demo-model.sh writes), made once per test run.
#pragma once

#include <filesystem>

#include "mmt/core/dtype.hpp"
#include "mmt/models/random_model.hpp"
#include "support/data.hpp"

namespace mmt::test {

inline std::filesystem::path clip_demo_model() {
    static const std::filesystem::path dir = [] {
        namespace fs = std::filesystem;
        const fs::path out = scratch_dir("clip_demo_model");
        const fs::path source = fs::path(MMT_EXAMPLES_SRC_DIR) / "models" / "clip-demo";
        write_random_model(source / "config.json", out, dtype::f32, 0);
        fs::copy_file(source / "preprocessor_config.json", out / "preprocessor_config.json");
        for (const char* f : {"vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"})
            fs::copy_file(data_path("clip-tokenizer") / f, out / f);
        return out;
    }();
    return dir;
}

}  // namespace mmt::test
