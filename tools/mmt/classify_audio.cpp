// mmt classify-audio: labels for a clip from any speech sequence-classification
// checkpoint (Wav2Vec2, HuBERT, WavLM, Data2VecAudio), as HF's audio-classification
// pipeline gives them: softmax probabilities of id2label, best first.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "commands.hpp"
#include "option_checks.hpp"
#include "mmt/core/finite.hpp"
#include "mmt/io/json.hpp"
#include "mmt/pipelines/audio_classification.hpp"

namespace mmt::cli {

void add_classify_audio(CLI::App& app) {
    struct options {
        std::filesystem::path model, audio;
        pipelines::audio_classification_options classify;
        bool json = false;
    };
    auto o = std::make_shared<options>();
    auto* cmd = app.add_subcommand("classify-audio", "Label a clip (keywords, emotion, language, ...) with a *ForSequenceClassification model");
    cmd->add_option("--model", o->model, "*ForSequenceClassification directory (config.json with id2label, model.safetensors)")->required();
    cmd->add_option("AUDIO", o->audio, "WAV file: PCM 8-32 bit or float, any rate and channel count")->required();
    cmd->add_option("--top-k", o->classify.top_k, "Labels to print, best first (at most the model's)")
        ->capture_default_str()
        ->check(positive<std::size_t>());
    cmd->add_option("--max-seconds", o->classify.max_seconds,
                    "Longest clip accepted: it is classified whole, as HF does, and attention grows with the square of its length")
        ->capture_default_str()
        ->check(positive<double>());
    cmd->add_flag("--json", o->json, "Print HF's [{\"score\": ..., \"label\": ...}, ...]");
    cmd->callback([o] {
        const auto classifier = pipelines::audio_classifier::from_pretrained(o->model, model_options());
        const auto labels = classifier.classify_file(o->audio, o->classify);
        check_finite_scores(labels, "classify-audio");
        if (o->json) {
            io::ordered_json j = io::ordered_json::array();
            for (const auto& l : labels) j.push_back({{"score", l.score}, {"label", l.label}});
            std::printf("%s\n", j.dump(2).c_str());
            return;
        }
        for (const auto& l : labels) std::printf("%.4f  %s\n", double(l.score), l.label.c_str());
    });
}

}  // namespace mmt::cli
