// mmt align: forced alignment of a known transcript to speech with a CTC model
// (pipelines/alignment.hpp): each word with its start, end and score, as text, JSON
// (each character too) or subtitles.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "speech_output.hpp"
#include "mmt/core/error.hpp"
#include "mmt/io/json.hpp"
#include "mmt/pipelines/alignment.hpp"
#include "mmt/pipelines/transcription.hpp"

namespace mmt::cli {

namespace {

io::ordered_json aligned_json(const std::vector<pipelines::aligned_text>& spans) {
    io::ordered_json out = io::ordered_json::array();
    for (const auto& s : spans) out.push_back({{"text", s.text}, {"start", s.start}, {"end", s.end}, {"score", s.score}});
    return out;
}

}  // namespace

void add_align(CLI::App& app) {
    struct options {
        std::filesystem::path model, audio, text_file;
        std::string text, language;
        double chunk_seconds = default_chunk_seconds;
        speech_output output;
    };
    auto o = std::make_shared<options>();
    auto* cmd = app.add_subcommand("align", "Forced alignment: when each word and character of a known transcript is spoken (CTC model)");
    cmd->add_option("--model", o->model, "CTC model directory, e.g. Wav2Vec2ForCTC (config.json, model.safetensors, vocab.json)")
        ->required();
    cmd->add_option("AUDIO", o->audio, "WAV file: PCM 8-32 bit or float, any rate and channel count")->required();
    auto* text = cmd->add_option("--text", o->text, "The transcript (any case; characters the model's vocabulary lacks are an error)");
    auto* text_file = cmd->add_option("--text-file", o->text_file, "The transcript from a UTF-8 file")->check(CLI::ExistingFile);
    text->excludes(text_file);
    add_chunk_option(cmd, o->chunk_seconds);
    add_speech_output_options(cmd, o->output, "{\"text\", \"words\": [{\"text\", \"start\", \"end\", \"score\"}], \"characters\": [...]}");
    add_language_option(cmd, o->language);
    cmd->callback([o] {
        if (o->text.empty() && o->text_file.empty()) fail<input_error>("align: give the transcript with --text or --text-file");
        const std::string transcript = o->text_file.empty() ? o->text : io::read_text_file(o->text_file);
        const auto recognizer = pipelines::speech_recognizer::from_pretrained(o->model, model_options(o->language));
        const auto result = pipelines::align_file(recognizer, o->audio, transcript, {o->chunk_seconds, std::nullopt});
        if (o->output.subtitles()) {
            print_subtitles(o->output, result.words);
        } else if (o->output.chosen() == "json") {
            const io::ordered_json j{{"text", transcript}, {"words", aligned_json(result.words)}, {"characters", aligned_json(result.characters)}};
            std::printf("%s\n", j.dump(2).c_str());
        } else {
            for (const auto& w : result.words) std::printf("%8.3f %8.3f %6.3f  %s\n", w.start, w.end, w.score, w.text.c_str());
        }
    });
}

}  // namespace mmt::cli
