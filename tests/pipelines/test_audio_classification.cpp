// The audio-classification pipeline: HF's softmax over the whole clip, labels best
// first, on the HuBERT and Wav2Vec2 classification fixtures.
#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "mmt/io/wav.hpp"
#include "mmt/models/wav2vec2/wav2vec2_model.hpp"
#include "mmt/pipelines/audio_classification.hpp"
#include "support/data.hpp"
#include "support/throws.hpp"

using namespace mmt;

TEST_CASE("pipelines.audio_classification: softmax of the model's logits on the extractor's input, best first" *
          doctest::test_suite("unit")) {
    const std::string wav = test::data_path("wav2vec2-audio/speech_22050.wav").string();
    for (const std::string fixture : {"hubert-tiny-stable-seq-cls", "wav2vec2-tiny-seq-cls"}) {
        CAPTURE(fixture);
        const auto classifier = pipelines::audio_classifier::from_pretrained(test::data_path(fixture));
        const auto model = wav2vec2::wav2vec2_model::from_pretrained(test::data_path(fixture));
        // What the pipeline feeds the model: the file at 16 kHz, normalised.
        pipelines::resampled_audio audio = pipelines::resampled_audio::open(wav, classifier.sampling_rate());
        const auto extractor = pipelines::feature_extractor_for(test::data_path(fixture), model);
        const auto features = extractor({audio.read(0, audio.size())}, audio.sampling_rate());
        const tensor<2> logits = model.forward_sequence_classification(features.input_values, features.attention_mask).logits;
        const std::size_t n = logits.shape(1);

        pipelines::audio_classification_options all;
        all.top_k = 100;  // more than there are: every label
        const auto labels = classifier.classify_file(wav, all);
        REQUIRE(labels.size() == n);
        double sum = 0.0, total = 0.0;
        for (std::size_t k = 0; k < n; ++k) sum += std::exp(double(logits(0, k)));
        for (std::size_t i = 0; i < n; ++i) {
            CHECK(labels[i].label == model.config.id2label.at(labels[i].id));
            CHECK(labels[i].score == doctest::Approx(std::exp(double(logits(0, std::size_t(labels[i].id)))) / sum).epsilon(1e-5));
            if (i > 0) CHECK(labels[i - 1].score >= labels[i].score);
            total += labels[i].score;
        }
        CHECK(total == doctest::Approx(1.0).epsilon(1e-6));
        CHECK(classifier.classify_file(wav).size() == std::min<std::size_t>(5, n));  // HF's default top_k
    }
}

TEST_CASE("pipelines.audio_classification: a model without the head, short and long audio are clear errors" *
          doctest::test_suite("unit")) {
    test::check_throws<config_error>([] { pipelines::audio_classifier::from_pretrained(test::data_path("wav2vec2-tiny-ctc")); },
                                     {"audio classification needs a Wav2Vec2ForSequenceClassification checkpoint",
                                      "this one is Wav2Vec2ForCTC"});
    test::check_throws<config_error>([] { pipelines::audio_classifier::from_pretrained(test::data_path("clip-tiny")); },
                                     {"audio classification needs a speech model", "CLIPModel"});
    const auto classifier = pipelines::audio_classifier::from_pretrained(test::data_path("wav2vec2-tiny-seq-cls"));
    test::check_throws<input_error>([&] { classifier.classify(std::vector<float>(300, 0.1f), 16000); }, {"shorter than one frame"});
    pipelines::audio_classification_options short_limit;
    short_limit.max_seconds = 1.0;
    test::check_throws<input_error>([&] { classifier.classify(std::vector<float>(32000, 0.1f), 16000, short_limit); },
                                    {"2 s of audio, longer than the 1 s allowed", "max_seconds"});
    short_limit.top_k = 0;
    test::check_throws<input_error>([&] { classifier.classify(std::vector<float>(8000, 0.1f), 16000, short_limit); }, {"top_k is 0"});
}
