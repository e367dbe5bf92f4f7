// What the speech commands (transcribe, align) share: the chunk length option for
// long audio, and --format text|json|srt|vtt with the subtitle cue limits.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "mmt/core/error.hpp"
#include "mmt/pipelines/subtitles.hpp"
#include "option_checks.hpp"

namespace mmt::cli {

// Long files are cut into chunks of this many seconds unless --chunk-seconds says otherwise;
// a file that fits one chunk gets exactly the unchunked result.
inline constexpr double default_chunk_seconds = 30.0;

inline void add_chunk_option(CLI::App* cmd, double& seconds) {
    cmd->add_option("--chunk-seconds", seconds,
                    "Chunk length for long audio, with chunk/6 s of overlap on each side (0: one pass over the whole file)")
        ->capture_default_str()
        ->check(in_range(0.0));
}

struct speech_output {
    std::string format = "text";
    bool json = false;  // --json, the same as --format json
    pipelines::cue_options cues;

    std::string chosen() const { return json ? "json" : format; }
    bool subtitles() const { return chosen() == "srt" || chosen() == "vtt"; }
};

// --format, --json and the cue limits; `json_help` says what --format json prints.
inline void add_speech_output_options(CLI::App* cmd, speech_output& o, const std::string& json_help) {
    auto* format = cmd->add_option("--format", o.format, "text, json (" + json_help + "), or subtitles from the word timestamps: srt or vtt")
                       ->capture_default_str()
                       ->check(CLI::IsMember({"text", "json", "srt", "vtt"}));
    cmd->add_flag("--json", o.json, "The same as --format json")->excludes(format);
    cmd->add_option("--max-cue-chars", o.cues.max_chars, "srt/vtt: at most this many characters a cue")
        ->capture_default_str()
        ->check(positive<std::size_t>());
    cmd->add_option("--max-cue-seconds", o.cues.max_seconds, "srt/vtt: at most this long a cue")
        ->capture_default_str()
        ->check(positive<double>());
    cmd->add_option("--max-cue-gap", o.cues.max_gap_seconds, "srt/vtt: a longer pause between words (s) starts a new cue")
        ->capture_default_str()
        ->check(in_range(0.0));
}

// The words as SRT or WebVTT cues (mmt serve answers with them too).
template <class Words>
std::string subtitles(const speech_output& o, const Words& words) {
    const auto cues = pipelines::make_cues(words, o.cues);
    return o.chosen() == "srt" ? pipelines::to_srt(cues) : pipelines::to_webvtt(cues);
}

// The same, on stdout.
template <class Words>
void print_subtitles(const speech_output& o, const Words& words) {
    const std::string text = subtitles(o, words);
    std::fwrite(text.data(), 1, text.size(), stdout);
}

}  // namespace mmt::cli
