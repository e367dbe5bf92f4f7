// Wav2Vec2 subcommands: transcribe, speech-units, preprocess-audio.
//
// A model directory without preprocessor_config.json (the tiny fixtures, some
// hub checkpoints) gets HF's Wav2Vec2FeatureExtractor defaults: 16 kHz,
// do_normalize, and an attention mask only for models whose convs use LayerNorm
// (see pipelines::feature_extractor_for).
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "commands.hpp"
#include "results_json.hpp"
#include "speech_output.hpp"
#include "mmt/core/error.hpp"
#include "mmt/io/json.hpp"
#include "mmt/io/safetensors.hpp"
#include "mmt/models/wav2vec2/config.hpp"
#include "mmt/pipelines/speech_audio.hpp"
#include "mmt/pipelines/speech_units.hpp"
#include "mmt/pipelines/transcription.hpp"

namespace mmt::cli {

namespace {

void add_transcribe(CLI::App& app) {
    struct options {
        std::filesystem::path model, audio;
        std::string timestamps, language;
        double chunk_seconds = default_chunk_seconds;
        speech_output output;
    };
    auto o = std::make_shared<options>();
    auto* cmd = app.add_subcommand("transcribe",
                                   "Speech to text with a CTC model (Wav2Vec2, HuBERT, WavLM, Data2VecAudio), optionally with timestamps or as subtitles");
    cmd->add_option("--model", o->model, "*ForCTC directory (config.json, model.safetensors, vocab.json)")->required();
    cmd->add_option("AUDIO", o->audio, "WAV file: PCM 8-32 bit or float, any rate and channel count")->required();
    cmd->add_option("--timestamps", o->timestamps, "Also print the start and end (s) of each word or character")
        ->check(CLI::IsMember({"word", "char"}));
    add_chunk_option(cmd, o->chunk_seconds);
    add_speech_output_options(cmd, o->output, "HF's {\"text\": ..., \"chunks\": [{\"text\", \"timestamp\": [start, end]}]}");
    add_language_option(cmd, o->language);
    cmd->callback([o] {
        if (o->output.subtitles() && o->timestamps == "char")
            fail<input_error>("--format ", o->output.chosen(), " makes cues of words; --timestamps char does not apply");
        const auto recognizer = pipelines::speech_recognizer::from_pretrained(o->model, model_options(o->language));
        pipelines::transcription_options options;
        options.chunk_length_s = o->chunk_seconds;
        options.timestamps = o->timestamps == "word" || o->output.subtitles() ? pipelines::timestamp_level::word
                             : o->timestamps == "char"                        ? pipelines::timestamp_level::character
                                                                              : pipelines::timestamp_level::none;
        const auto result = recognizer.transcribe_file(o->audio, options);
        if (o->output.subtitles()) {
            print_subtitles(o->output, result.chunks);
            return;
        }
        if (o->output.chosen() == "json") {
            std::printf("%s\n", transcription_json(result, options.timestamps != pipelines::timestamp_level::none).dump(2).c_str());
            return;
        }
        std::printf("%s\n", result.text.c_str());
        for (const auto& c : result.chunks) std::printf("%8.3f %8.3f  %s\n", c.start, c.end, c.text.c_str());
    });
}

void add_speech_units(CLI::App& app) {
    struct options {
        std::filesystem::path model, audio;
        double chunk_seconds = default_chunk_seconds;
    };
    auto o = std::make_shared<options>();
    auto* cmd = app.add_subcommand("speech-units",
                                   "Discrete speech units: the quantizer's codevector index per frame and group (Wav2Vec2ForPreTraining)");
    cmd->add_option("--model", o->model, "Wav2Vec2ForPreTraining directory")->required();
    cmd->add_option("AUDIO", o->audio, "WAV file")->required();
    add_chunk_option(cmd, o->chunk_seconds);
    cmd->callback([o] {
        const auto extractor = pipelines::speech_unit_extractor::from_pretrained(o->model, model_options());
        const auto units = extractor.from_file(o->audio, {o->chunk_seconds, std::nullopt});
        std::printf("# %zu frames of %g s, %zu codevector groups\n", units.codes.shape(0), units.frame_seconds, units.codes.shape(1));
        std::printf("# frame\tstart_s");
        for (std::size_t g = 0; g < units.codes.shape(1); ++g) std::printf("\tgroup_%zu", g);
        std::printf("\n");
        for (std::size_t f = 0; f < units.codes.shape(0); ++f) {
            std::printf("%zu\t%.2f", f, double(f) * units.frame_seconds);
            for (std::size_t g = 0; g < units.codes.shape(1); ++g) std::printf("\t%lld", static_cast<long long>(units.codes(f, g)));
            std::printf("\n");
        }
    });
}

void add_preprocess_audio(CLI::App& app) {
    struct options {
        std::filesystem::path model, audio, out;
    };
    auto o = std::make_shared<options>();
    auto* cmd = app.add_subcommand("preprocess-audio",
                                   "Wav2Vec2FeatureExtractor: write input_values [1, T] (and attention_mask when the model takes one)");
    cmd->add_option("--model", o->model, "Wav2Vec2 model directory (config.json, preprocessor_config.json if any)")->required();
    cmd->add_option("AUDIO", o->audio, "WAV file, resampled to the extractor's rate")->required();
    cmd->add_option("--out", o->out, "safetensors file to write")->required();
    cmd->callback([o] {
        const auto config = wav2vec2::config::from_file(o->model / "config.json");
        const auto extractor = pipelines::feature_extractor_for(o->model, config);
        const int rate = extractor.config().sampling_rate;
        auto audio = pipelines::resampled_audio::open(o->audio, rate);
        pipelines::check_long_enough(audio, config);
        const auto features = extractor({audio.read(0, audio.size())}, rate);
        io::safetensors_writer writer;
        writer.add("input_values", features.input_values);
        std::printf("input_values %s\n", io::shape_string({features.input_values.shape().begin(), features.input_values.shape().end()}).c_str());
        if (features.attention_mask.size() != 0) {
            writer.add("attention_mask", features.attention_mask);
            std::printf("attention_mask %s\n",
                        io::shape_string({features.attention_mask.shape().begin(), features.attention_mask.shape().end()}).c_str());
        }
        writer.save(o->out);
    });
}

}  // namespace

void add_wav2vec2_commands(CLI::App& app) {
    add_transcribe(app);
    add_speech_units(app);
    add_preprocess_audio(app);
}

}  // namespace mmt::cli
