// Wav2Vec2 configs (the real ones in tests/data/configs, HF's defaults, every
// refused key), broken checkpoints, bad inputs, and the batching / masking rules
// HF follows, each error checked by exception type and message.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "mmt/io/json.hpp"
#include "mmt/io/safetensors.hpp"
#include "mmt/models/random_model.hpp"
#include "mmt/models/wav2vec2/wav2vec2_model.hpp"
#include "support/check_close.hpp"
#include "support/data.hpp"
#include "support/files.hpp"
#include "support/throws.hpp"
#include "support/tolerances.hpp"

using namespace mmt;
namespace fs = std::filesystem;

namespace {



io::json tiny_config(const std::string& fixture = "wav2vec2-tiny-ctc") {
    return io::read_json_file(test::data_path(fixture) / "config.json");
}

wav2vec2::config wav2vec2_config(const io::json& j) { return wav2vec2::config::from_json(j, "config.json"); }

void check_config_error(const std::function<void(io::json&)>& edit, std::initializer_list<std::string> parts) {
    io::json j = tiny_config();
    edit(j);
    test::check_throws<config_error>([&] { wav2vec2_config(j); }, parts);
}

const wav2vec2::wav2vec2_model& tiny_ctc() {
    static const auto model = wav2vec2::wav2vec2_model::from_pretrained(test::data_path("wav2vec2-tiny-ctc"));
    return model;
}

const wav2vec2::wav2vec2_model& tiny_stable() {
    static const auto model = wav2vec2::wav2vec2_model::from_pretrained(test::data_path("wav2vec2-tiny-stable-ctc"));
    return model;
}

const wav2vec2::wav2vec2_model& tiny_pretraining() {
    static const auto model = wav2vec2::wav2vec2_model::from_pretrained(test::data_path("wav2vec2-tiny-pretraining"));
    return model;
}

tensor<2> fixture_input(const std::string& fixture) {
    return io::safetensors_file(test::data_path(fixture) / "reference.safetensors").load<float, 2>("input.input_values");
}

}  // namespace

TEST_CASE("models.wav2vec2_config: the wav2vec2 configs in tests/data/configs parse to the file's numbers" *
          doctest::test_suite("unit")) {
    int parsed = 0;
    for (const char* file : {"wav2vec2-base-960h.json", "wav2vec2-large-960h-lv60-self.json"}) {
        CAPTURE(file);
        const auto path = test::data_path(std::string("configs/") + file);
        const io::json j = io::read_json_file(path);
        const auto c = wav2vec2::config::from_file(path);
        ++parsed;
        CHECK(c.arch == wav2vec2::architecture::ctc);
        CHECK(c.hidden_size == j["hidden_size"].get<std::size_t>());
        CHECK(c.num_hidden_layers == j["num_hidden_layers"].get<std::size_t>());
        CHECK(c.num_attention_heads == j["num_attention_heads"].get<std::size_t>());
        CHECK(c.intermediate_size == j["intermediate_size"].get<std::size_t>());
        CHECK(c.feat_extract_norm == j["feat_extract_norm"].get<std::string>());
        CHECK(c.do_stable_layer_norm == j["do_stable_layer_norm"].get<bool>());
        CHECK(c.conv_bias == j["conv_bias"].get<bool>());
        CHECK(c.conv_dim == j["conv_dim"].get<std::vector<std::size_t>>());
        CHECK(c.conv_stride == j["conv_stride"].get<std::vector<std::size_t>>());
        CHECK(c.conv_kernel == j["conv_kernel"].get<std::vector<std::size_t>>());
        CHECK(c.num_conv_pos_embeddings == j["num_conv_pos_embeddings"].get<std::size_t>());
        CHECK(c.num_conv_pos_embedding_groups == j["num_conv_pos_embedding_groups"].get<std::size_t>());
        CHECK(c.layer_norm_eps == j["layer_norm_eps"].get<float>());
        CHECK(c.vocab_size == j["vocab_size"].get<std::size_t>());
        CHECK(c.pad_token_id == j["pad_token_id"].get<std::int64_t>());
        CHECK(c.inputs_to_logits_ratio() == 320);
        CHECK(c.min_input_length() == 400);
    }
    CHECK(parsed == 2);
    const auto base = wav2vec2::config::from_file(test::data_path("configs/wav2vec2-base-960h.json"));
    CHECK(base.feat_extract_norm_kind() == wav2vec2::conv_norm::group);
    CHECK(base.layer_config().norm == layers::norm_position::post);
    const auto large = wav2vec2::config::from_file(test::data_path("configs/wav2vec2-large-960h-lv60-self.json"));
    CHECK(large.hidden_size == 1024);
    CHECK(large.num_hidden_layers == 24);
    CHECK(large.feat_extract_norm_kind() == wav2vec2::conv_norm::layer);
    CHECK(large.layer_config().norm == layers::norm_position::pre);
}

TEST_CASE("models.wav2vec2_config: HuBERT, WavLM and Data2VecAudio configs take their own defaults and names" *
          doctest::test_suite("unit")) {
    // The benchmark configs: a model_type and a CTC head, the rest HF's defaults (the base sizes).
    const auto hubert = wav2vec2::config::from_file(test::data_path("configs/hubert-base-defaults.json"));
    CHECK(hubert.kind == wav2vec2::variant::hubert);
    CHECK(std::string(hubert.architecture_name()) == "HubertForCTC");
    CHECK(std::string(hubert.base_model_prefix()) == "hubert");
    CHECK(hubert.hidden_size == 768);
    CHECK(hubert.num_hidden_layers == 12);
    CHECK(hubert.feat_proj_layer_norm);
    CHECK(!hubert.has_extract_features());
    CHECK(hubert.positional_conv_kernel() == 128);
    const auto wavlm = wav2vec2::config::from_file(test::data_path("configs/wavlm-base-defaults.json"));
    CHECK(wavlm.kind == wav2vec2::variant::wavlm);
    CHECK(wavlm.num_buckets == 320);
    CHECK(wavlm.max_bucket_distance == 800);
    const auto data2vec = wav2vec2_config({{"model_type", "data2vec-audio"}, {"feat_extract_norm", "group"}, {"do_stable_layer_norm", true}});
    CHECK(std::string(data2vec.base_model_prefix()) == "data2vec_audio");
    CHECK(data2vec.feat_extract_norm_kind() == wav2vec2::conv_norm::layer);  // Data2VecAudio has no such keys: LayerNorm convs,
    CHECK(!data2vec.do_stable_layer_norm);                                  // post-norm layers
    CHECK(data2vec.positional_conv_layers() == 5);
    CHECK(data2vec.positional_conv_kernel() == 19);
    const auto seq = wav2vec2_config({{"architectures", {"Wav2Vec2ForSequenceClassification"}}, {"num_labels", 3}});
    CHECK(seq.num_labels() == 3);
    CHECK(seq.classifier_proj_size == 256);
    CHECK(!seq.use_weighted_layer_sum);
}

TEST_CASE("models.wav2vec2_config: keys config.json omits take HF's defaults" * doctest::test_suite("unit")) {
    const auto c = wav2vec2_config(io::json::object());
    CHECK(c.arch == wav2vec2::architecture::model);
    CHECK(c.vocab_size == 32);
    CHECK(c.hidden_size == 768);
    CHECK(c.num_hidden_layers == 12);
    CHECK(c.num_attention_heads == 12);
    CHECK(c.intermediate_size == 3072);
    CHECK(c.hidden_act == "gelu");
    CHECK(c.layer_norm_eps == 1e-5f);
    CHECK(c.feat_extract_norm == "group");
    CHECK(c.feat_extract_activation == "gelu");
    CHECK(c.conv_dim == std::vector<std::size_t>(7, 512));
    CHECK(c.conv_stride == std::vector<std::size_t>{5, 2, 2, 2, 2, 2, 2});
    CHECK(c.conv_kernel == std::vector<std::size_t>{10, 3, 3, 3, 3, 2, 2});
    CHECK_FALSE(c.conv_bias);
    CHECK(c.num_conv_pos_embeddings == 128);
    CHECK(c.num_conv_pos_embedding_groups == 16);
    CHECK_FALSE(c.do_stable_layer_norm);
    CHECK(c.has_masked_spec_embed());  // mask_time_prob 0.05
    CHECK(c.num_codevectors_per_group == 320);
    CHECK(c.num_codevector_groups == 2);
    CHECK(c.codevector_dim == 256);
    CHECK(c.proj_codevector_dim == 256);
    CHECK(c.contrastive_logits_temperature == 0.1);
    CHECK(c.pad_token_id == 0);

    // The tiny fixtures' own numbers.
    const auto pre = wav2vec2_config(tiny_config("wav2vec2-tiny-pretraining"));
    CHECK(pre.arch == wav2vec2::architecture::pretraining);
    CHECK(pre.num_codevectors_per_group == 7);
    CHECK(pre.codevector_dim == 16);
    CHECK(pre.proj_codevector_dim == 12);
    // HF's floor division: too few samples give 0 or negative frames, never a wrap-around.
    CHECK(pre.feat_extract_output_length(8000) == 24);
    CHECK(pre.feat_extract_output_length(400) == 1);
    CHECK(pre.feat_extract_output_length(399) == 0);
    CHECK(pre.feat_extract_output_length(5) < 0);
}

TEST_CASE("models.wav2vec2_config: broken invariants and unknown values name the key" * doctest::test_suite("unit")) {
    check_config_error([](io::json& j) { j["conv_stride"] = {5, 2}; }, {"config.json", "\"conv_stride\"", "got 7, 2 and 7 entries"});
    check_config_error([](io::json& j) { j["conv_kernel"] = io::json::array(); }, {"\"conv_kernel\"", "got 7, 7 and 0 entries"});
    check_config_error([](io::json& j) { j["conv_stride"][3] = 0; }, {"conv layer 3", "conv_stride 0"});
    check_config_error([](io::json& j) { j["feat_extract_norm"] = "batch"; },
                       {"\"feat_extract_norm\": unknown value \"batch\", expected \"group\" or \"layer\""});
    check_config_error([](io::json& j) { j["feat_extract_activation"] = "swishy"; },
                       {"feat_extract_activation", "unknown activation \"swishy\""});
    check_config_error([](io::json& j) { j["hidden_act"] = "elu"; }, {"hidden_act", "unknown activation \"elu\""});
    check_config_error([](io::json& j) { j["num_attention_heads"] = 5; }, {"\"num_attention_heads\"", "32 is not divisible by 5"});
    check_config_error([](io::json& j) { j["num_conv_pos_embedding_groups"] = 5; },
                       {"\"num_conv_pos_embedding_groups\"", "not divisible into 5 groups"});
    check_config_error([](io::json& j) { j["architectures"] = {"Wav2Vec2ForXVector"}; },
                       {"\"architectures\"", "unknown architecture \"Wav2Vec2ForXVector\"", "Wav2Vec2ForCTC",
                        "Wav2Vec2ForSequenceClassification"});
    check_config_error(
        [](io::json& j) {
            j["model_type"] = "hubert";
            j["architectures"] = {"Wav2Vec2ForCTC"};
        },
        {"unknown architecture \"Wav2Vec2ForCTC\" for HuBERT", "HubertModel, HubertForCTC or HubertForSequenceClassification"});
    check_config_error(
        [](io::json& j) {
            j["model_type"] = "wavlm";
            j["architectures"] = {"WavLMForCTC"};
            j["num_buckets"] = 2;
        },
        {"\"num_buckets\" 2", "expected num_buckets >= 4"});
    check_config_error([](io::json& j) { j["architectures"] = {"Wav2Vec2ForCTC", "Wav2Vec2Model"}; }, {"lists 2 entries, expected one"});
    check_config_error([](io::json& j) { j["model_type"] = "speecht5"; },
                       {"\"model_type\": expected wav2vec2, hubert, wavlm or data2vec-audio, got \"speecht5\""});
    check_config_error([](io::json& j) { j["add_adapter"] = true; }, {"\"add_adapter\"", "not supported"});
    check_config_error([](io::json& j) { j["adapter_attn_dim"] = -16; }, {"\"adapter_attn_dim\""});
    check_config_error([](io::json& j) { j["conv_dim"] = {24, -1, 24, 24, 24, 24, 24}; }, {"\"conv_dim\" has the wrong type"});
    check_config_error([](io::json& j) { j["conv_bias"] = 1; }, {"\"conv_bias\" has the wrong type"});
    check_config_error(
        [](io::json& j) {
            j["architectures"] = {"Wav2Vec2ForPreTraining"};
            j["codevector_dim"] = 15;
        },
        {"\"codevector_dim\": 15 must be a positive multiple of num_codevector_groups 2"});
}

TEST_CASE("models.wav2vec2_errors: missing, misshapen and unused tensors" * doctest::test_suite("unit")) {
    SUBCASE("a missing tensor names it and its shape") {
        const auto dir = test::copy_model(test::data_path("wav2vec2-tiny-ctc"), "w2v_missing");
        test::rewrite_checkpoint(dir, [](const std::string& name, dyn_tensor<float>&) { return name != "wav2vec2.encoder.pos_conv_embed.conv.weight_g"; });
        test::check_throws<weight_error>([&] { wav2vec2::wav2vec2_model::from_pretrained(dir); },
                                         {"missing tensor 'wav2vec2.encoder.pos_conv_embed.conv.weight_g'", "[1, 1, 16]"});
    }
    SUBCASE("a tensor the config does not explain is an error, not silently ignored") {
        const auto dir = test::copy_model(test::data_path("wav2vec2-tiny-ctc"), "w2v_unused");
        test::rewrite_checkpoint(dir, [](const std::string&, dyn_tensor<float>&) { return true; },
                           [](io::safetensors_writer& w) { w.add("quantizer.codevectors", dyn_tensor<float>(tensor<3>({1, 4, 2}))); });
        test::check_throws<weight_error>([&] { wav2vec2::wav2vec2_model::from_pretrained(dir); },
                                         {"tensors the model does not use: 'quantizer.codevectors'"});
    }
    SUBCASE("masked_spec_embed is only expected when the config has SpecAugment probabilities") {
        const auto dir = test::copy_model(test::data_path("wav2vec2-tiny-ctc"), "w2v_spec_embed");
        io::json j = tiny_config();
        j["mask_time_prob"] = 0.0;
        std::ofstream(dir / "config.json", std::ios::trunc) << j.dump(2);
        test::check_throws<weight_error>([&] { wav2vec2::wav2vec2_model::from_pretrained(dir); },
                                         {"tensors the model does not use: 'wav2vec2.masked_spec_embed'"});
        test::rewrite_checkpoint(dir, [](const std::string& name, dyn_tensor<float>&) { return name != "wav2vec2.masked_spec_embed"; });
        CHECK_NOTHROW(wav2vec2::wav2vec2_model::from_pretrained(dir));
    }
    SUBCASE("a conv weight of the wrong shape names both shapes") {
        const auto dir = test::copy_model(test::data_path("wav2vec2-tiny-ctc"), "w2v_shape");
        io::json j = tiny_config();
        j["conv_kernel"][0] = 11;
        std::ofstream(dir / "config.json", std::ios::trunc) << j.dump(2);
        test::check_throws<weight_error>([&] { wav2vec2::wav2vec2_model::from_pretrained(dir); },
                                         {"'wav2vec2.feature_extractor.conv_layers.0.conv.weight' has shape [24, 1, 10]",
                                          "expected [24, 1, 11]"});
    }
    SUBCASE("the body saved without the prefix loads as Wav2Vec2Model") {
        const auto dir = test::copy_model(test::data_path("wav2vec2-tiny-ctc"), "w2v_bare");
        io::json j = tiny_config();
        j["architectures"] = {"Wav2Vec2Model"};
        std::ofstream(dir / "config.json", std::ios::trunc) << j.dump(2);
        // With the prefix (as HF also accepts) ...
        test::rewrite_checkpoint(dir, [](const std::string& name, dyn_tensor<float>&) { return name.rfind("lm_head.", 0) != 0; });
        const auto prefixed = wav2vec2::wav2vec2_model::from_pretrained(dir);
        // ... and without it, as HF saves a Wav2Vec2Model.
        io::safetensors_writer writer;
        {
            const io::safetensors_file original(dir / "model.safetensors");
            for (const auto& name : original.names()) writer.add(name.substr(std::string("wav2vec2.").size()), original.load<float>(name));
        }
        writer.save(dir / "model.safetensors");
        const auto bare = wav2vec2::wav2vec2_model::from_pretrained(dir);
        const tensor<2> input = fixture_input("wav2vec2-tiny-ctc");
        const auto reference = io::safetensors_file(test::data_path("wav2vec2-tiny-ctc/reference.safetensors"));
        test::check_close(bare.forward(input).last_hidden_state, reference.load<float>("output.last_hidden_state"), test::tol::model_abs,
                          "bare Wav2Vec2Model");
        test::check_close(prefixed.forward(input).last_hidden_state, bare.forward(input).last_hidden_state, 0.0, "prefixed vs bare");
    }
}

TEST_CASE("models.wav2vec2_errors: bad inputs to a loaded model" * doctest::test_suite("unit")) {
    const auto& m = tiny_ctc();
    test::check_throws<input_error>([&] { m.forward_ctc(tensor<2>({1, 399})); },
                                    {"399 samples, fewer than one frame of the feature encoder needs; expected at least 400"});
    test::check_throws<shape_error>([&] { m.forward_ctc(tensor<2>({0, 800})); }, {"input_values has shape [0, 800]"});
    const tensor<2> input = xt::zeros<float>({2, 800});
    test::check_throws<shape_error>([&] { m.forward_ctc(input, int_tensor<2>({2, 799})); },
                                    {"attention_mask has shape [2, 799], expected input_values' [2, 800]"});
    int_tensor<2> mask = xt::ones<std::int64_t>({2, 800});
    mask(1, 5) = 2;
    test::check_throws<input_error>([&] { m.forward_ctc(input, mask); }, {"attention_mask holds 2 at flat position 805"});
    mask = xt::ones<std::int64_t>({2, 800});
    for (std::size_t t = 300; t < 800; ++t) mask(1, t) = 0;
    test::check_throws<input_error>([&] { m.forward_ctc(input, mask); },
                                    {"attention_mask row 1 covers 300 samples, fewer than one frame", "at least 400"});
    test::check_throws<input_error>([&] { m.forward_pretraining(input); }, {"needs a Wav2Vec2ForPreTraining checkpoint"});
    test::check_throws<input_error>([&] { tiny_pretraining().forward_ctc(input); }, {"needs a Wav2Vec2ForCTC checkpoint"});
    test::check_throws<shape_error>([&] { tiny_pretraining().forward_pretraining(input, {}, int_tensor<2>({2, 3})); },
                                    {"mask_time_indices has shape [2, 3], expected [2, 2]"});
}

TEST_CASE("models.wav2vec2_errors: a padded batch with attention_mask equals its rows run alone" * doctest::test_suite("unit")) {
    // The LayerNorm-conv model: frames inside a row's length see only its samples, padded
    // frames are zeroed before the positional conv (as its zero padding) and hidden from attention.
    const tensor<2> batch = fixture_input("wav2vec2-tiny-stable-ctc");
    const auto mask = io::safetensors_file(test::data_path("wav2vec2-tiny-stable-ctc/reference.safetensors"))
                          .load<std::int64_t, 2>("input.attention_mask");
    const auto& m = tiny_stable();
    const auto padded = m.forward_ctc(batch, mask);
    const std::size_t samples = 5200;  // row 1's length in the fixture
    tensor<2> row = xt::view(batch, xt::range(1, 2), xt::range(0, samples));
    const auto alone = m.forward_ctc(row);
    const std::size_t frames = std::size_t(m.frames_for(samples));
    REQUIRE(alone.logits.shape(1) == frames);
    tensor<3> padded_valid = xt::view(padded.logits, xt::range(1, 2), xt::range(0, frames), xt::all());
    test::check_close(padded_valid, alone.logits, test::tol::model_abs, "row 1 padded vs alone");
}

TEST_CASE("models.wav2vec2_errors: mask_time_indices replaces frames and restricts the perplexity" * doctest::test_suite("unit")) {
    const auto& m = tiny_pretraining();
    const tensor<2> input = fixture_input("wav2vec2-tiny-pretraining");
    const auto plain = m.forward_pretraining(input);
    int_tensor<2> none = xt::zeros<std::int64_t>({2, 24});
    int_tensor<2> some = none;
    for (std::size_t t = 3; t < 13; ++t) some(0, t) = 1;
    some(1, 20) = 1;
    // A mask with no frames in it changes nothing but the perplexity (HF divides 0 by 0).
    const auto masked = m.forward_pretraining(input, {}, some);
    // The quantizer reads extract_features, which the mask does not touch...
    CHECK(masked.codevector_indices == plain.codevector_indices);
    test::check_close(masked.projected_quantized_states, plain.projected_quantized_states, 0.0, "quantized states");
    // ... while the transformer sees masked_spec_embed on the masked frames.
    CHECK(xt::amax(xt::abs(masked.projected_states - plain.projected_states))() > 1e-3);
    // Perplexity over the 11 masked frames only: exp(entropy of each group's code counts), summed.
    double expected = 0;
    for (std::size_t g = 0; g < 2; ++g) {
        std::vector<double> counts(7, 0.0);
        for (std::size_t b = 0; b < 2; ++b)
            for (std::size_t t = 0; t < 24; ++t)
                if (some(b, t)) counts[std::size_t(plain.codevector_indices(b, t, g))] += 1;
        double entropy = 0;
        for (double c : counts) entropy += c / 11 * std::log(c / 11 + 1e-7);
        expected += std::exp(-entropy);
    }
    CHECK(masked.codevector_perplexity == doctest::Approx(expected).epsilon(1e-5));
    CHECK(std::isnan(m.forward_pretraining(input, {}, none).codevector_perplexity));
}

TEST_CASE("models.wav2vec2_errors: random-model writes exactly the fixtures' tensor names and shapes" * doctest::test_suite("unit")) {
    for (const std::string fixture : {"wav2vec2-tiny-ctc", "wav2vec2-tiny-stable-ctc", "wav2vec2-tiny-pretraining"}) {
        CAPTURE(fixture);
        const auto dir = test::scratch_dir("w2v_random_" + fixture);
        write_random_model(test::data_path(fixture) / "config.json", dir, dtype::f32);
        const io::safetensors_file written(dir / "model.safetensors"), original(test::data_path(fixture) / "model.safetensors");
        auto sorted = [](std::vector<std::string> names) {
            std::sort(names.begin(), names.end());
            return names;
        };
        CHECK(sorted(written.names()) == sorted(original.names()));
        for (const auto& name : original.names()) CHECK(written.info(name).shape == original.info(name).shape);
        CHECK_NOTHROW(wav2vec2::wav2vec2_model::from_pretrained(dir));
    }
}
