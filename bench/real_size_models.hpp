// Models at real size, built from the hub configs in tests/data/configs with
// random weights (no download), and the fixed inputs the model benchmarks feed
// them: shared by the speed cases (bench_models.cpp) and the accuracy cases
// (bench_accuracy.cpp), so both run the same models on the same inputs.
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>

#include "mmt/io/json.hpp"
#include "mmt/models/auto_model.hpp"
#include "mmt/models/random_model.hpp"
#include "support/random.hpp"

namespace mmt::bench {

// The model a hub config describes, with random weights made in memory, loaded
// with `options` (the linear layers' precision, modules kept in float32);
// `architecture`, when given, replaces the config's `architectures` (e.g. a
// token-classification head on a base checkpoint's config). One model is kept at a
// time: asking for another frees the last.
template <class Model>
const Model& model_for(const std::string& config_file, const load_options& options, const std::string& architecture = "") {
    static std::string loaded;
    static std::unique_ptr<auto_model> model;
    std::string key = config_file + "/" + architecture + "/" + precision_name(options.linear);
    key += "/" + module_precision_text(options.module_precision);
    if (loaded != key) {
        model.reset();
        const std::string path = std::string(MMT_CONFIGS_DIR) + "/" + config_file;
        io::json config = io::read_json_file(path);
        if (!architecture.empty()) config["architectures"] = io::json::array({architecture});
        io::weight_loader loader(
            [](const std::string& name, const std::vector<std::size_t>& shape, float* out) { detail::random_values(name, shape, out, 0); },
            options);
        model = std::make_unique<auto_model>(auto_model::from_config(config, path, loader));
        loader.check_module_precision();
        loaded = key;
    }
    return *model->get<Model>();
}

// CLIP's pixel_values: [batch, 3, image_size, image_size], uniform in [-1, 1).
inline tensor<4> clip_pixels(std::size_t batch, std::size_t image_size) {
    return test::random_tensor<4>({batch, 3, image_size, image_size}, 7);
}

// CLIP text of `seq` tokens (the full context): <|startoftext|>, ordinary BPE
// ids, <|endoftext|>.
struct clip_text_inputs {
    int_tensor<2> input_ids, attention_mask;  // [batch, seq]
};
inline clip_text_inputs clip_text(std::size_t batch, std::size_t seq) {
    clip_text_inputs in{int_tensor<2>::from_shape({batch, seq}), int_tensor<2>::from_shape({batch, seq})};
    for (std::size_t b = 0; b < batch; ++b)
        for (std::size_t s = 0; s < seq; ++s) {
            in.input_ids(b, s) = s == 0 ? 49406 : s + 1 == seq ? 49407 : std::int64_t(1000 + 37 * (b + s) % 40000);
            in.attention_mask(b, s) = 1;
        }
    return in;
}

// LayoutLM's inputs: `seq` WordPiece ids with 60x20 boxes spread over the page.
inline layoutlm::model_inputs layoutlm_inputs(std::size_t batch, std::size_t seq) {
    layoutlm::model_inputs in;
    in.input_ids = int_tensor<2>::from_shape({batch, seq});
    in.bbox = int_tensor<3>::from_shape({batch, seq, 4});
    in.attention_mask = int_tensor<2>::from_shape({batch, seq});
    in.token_type_ids = int_tensor<2>::from_shape({batch, seq});
    for (std::size_t b = 0; b < batch; ++b)
        for (std::size_t s = 0; s < seq; ++s) {
            in.input_ids(b, s) = std::int64_t(1000 + (b * 131 + s * 17) % 28000);
            const std::int64_t x = std::int64_t((s * 37) % 900), y = std::int64_t((s * 53) % 950);
            in.bbox(b, s, 0) = x, in.bbox(b, s, 1) = y, in.bbox(b, s, 2) = x + 60, in.bbox(b, s, 3) = y + 20;
            in.attention_mask(b, s) = 1;
            in.token_type_ids(b, s) = 0;
        }
    return in;
}

// `seconds` of 16 kHz audio: a tone with a little noise. [1, samples]
inline tensor<2> speech_audio(std::size_t seconds) {
    const std::size_t samples = seconds * 16000;
    tensor<2> audio = tensor<2>::from_shape({1, samples});
    for (std::size_t i = 0; i < samples; ++i)
        audio(0, i) = 0.1f * std::sin(0.05f * float(i)) + 0.01f * float(int(i * 7919 % 200) - 100) / 100.0f;
    return audio;
}

}  // namespace mmt::bench
