// Float values of config.json that no model can run with: every family reads them
// through io::json_optional, which refuses them with the key, so no family can
// forget (CLIP printed -nan probabilities with exit 0 for a negative eps).
#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "mmt/models/auto_model.hpp"
#include "support/data.hpp"
#include "support/files.hpp"
#include "support/throws.hpp"

using namespace mmt;
namespace fs = std::filesystem;

TEST_CASE("robustness.config: a layer_norm_eps of 0 or below is a config_error naming the key, in every family" *
          doctest::test_suite("unit")) {
    struct family_case {
        const char* fixture;
        std::vector<const char*> sections;  // where the config holds its eps: "" for the top level
    };
    const family_case cases[] = {
        {"clip-tiny", {"text_config", "vision_config"}},
        {"siglip-tiny", {"text_config", "vision_config"}},
        {"chinese-clip-tiny", {"text_config", "vision_config"}},
        {"layoutlm-tiny-base", {""}},
        {"layoutlmv3-tiny-base", {""}},
        {"lilt-tiny-token-cls", {""}},
        {"wav2vec2-tiny-ctc", {""}},
        {"hubert-tiny-ctc", {""}},
        {"wavlm-tiny-ctc", {""}},
        {"data2vec-audio-tiny-ctc", {""}},
    };
    for (const auto& c : cases) {
        for (const char* section : c.sections) {
            for (const double eps : {-1e-5, 0.0}) {
                CAPTURE(c.fixture);
                CAPTURE(section);
                CAPTURE(eps);
                const fs::path dir = test::scratch_dir(std::string("robust_eps_") + c.fixture);
                fs::remove(dir / "config.json");
                fs::copy_file(test::data_path(c.fixture) / "config.json", dir / "config.json");
                if (!fs::exists(dir / "model.safetensors")) fs::create_symlink(test::data_path(c.fixture) / "model.safetensors", dir / "model.safetensors");
                test::edit_config(dir, [&](io::json& config) { (*section ? config[section] : config)["layer_norm_eps"] = eps; });
                test::check_throws<config_error>([&] { auto_model::from_pretrained(dir); },
                                                 {"config.json", "\"layer_norm_eps\" should be a finite number > 0", "got "});
            }
        }
    }
}
