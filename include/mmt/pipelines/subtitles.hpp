// Subtitles from word timestamps (a transcription's words, or an alignment's): the
// words in order gathered into cues of at most max_chars characters and max_seconds,
// a pause longer than max_gap_seconds starting a new cue, written as SubRip (SRT:
// numbered cues, HH:MM:SS,mmm) or WebVTT (a WEBVTT header, HH:MM:SS.mmm). A cue
// runs from its first word's start to its last word's end, so cues neither overlap
// nor run backwards when the words do not, which is checked. A word longer than
// max_chars or max_seconds is a cue of its own: words are never split.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "mmt/core/error.hpp"

namespace mmt::pipelines {

struct cue_options {
    std::size_t max_chars = 42;    // characters (code points) a cue, spaces included: one broadcast subtitle line
    double max_seconds = 5.0;      // from the cue's first word's start to its last word's end
    double max_gap_seconds = 1.0;  // a longer pause between two words ends the cue
};

// One subtitle: the words it gathers, joined by spaces, and their time span in seconds.
struct cue {
    std::string text;
    double start = 0.0;
    double end = 0.0;
};

namespace detail {

struct cue_word {
    std::string text;
    double start = 0.0, end = 0.0;
};

// Code points of UTF-8 text: its bytes that do not continue a sequence.
inline std::size_t utf8_length(const std::string& text) {
    std::size_t n = 0;
    for (unsigned char b : text) n += (b & 0xC0) != 0x80;
    return n;
}

inline std::vector<cue> gather_cues(const std::vector<cue_word>& words, const cue_options& options) {
    if (options.max_chars == 0 || !(options.max_seconds > 0.0) || !(options.max_gap_seconds >= 0.0))
        fail<input_error>("subtitles: max_chars ", options.max_chars, ", max_seconds ", options.max_seconds, " and max_gap_seconds ",
                          options.max_gap_seconds, "; expected at least one character, a positive duration and a gap not negative");
    std::vector<cue> cues;
    std::size_t chars = 0;  // of the last cue
    for (std::size_t i = 0; i < words.size(); ++i) {
        const cue_word& w = words[i];
        if (w.text.empty() || w.text.find_first_of("\r\n") != std::string::npos)
            fail<input_error>("subtitles: word ", i, " (\"", w.text, "\") is empty or holds a line break; expected one word of text");
        if (!std::isfinite(w.start) || !std::isfinite(w.end) || !(w.start >= 0.0) || !(w.end > w.start))
            fail<input_error>("subtitles: word ", i, " (\"", w.text, "\") spans ", w.start, " s to ", w.end,
                              " s; expected 0 <= start < end, finite");
        if (i && w.start < words[i - 1].end)
            fail<input_error>("subtitles: word ", i, " (\"", w.text, "\") starts at ", w.start, " s, before word ", i - 1, " (\"",
                              words[i - 1].text, "\") ends at ", words[i - 1].end, " s; expected words in time order, none overlapping");
        const std::size_t length = utf8_length(w.text);
        const bool fits = i && chars + 1 + length <= options.max_chars && w.end - cues.back().start <= options.max_seconds &&
                          w.start - words[i - 1].end <= options.max_gap_seconds;
        if (fits) {
            cues.back().text += ' ' + w.text;
            cues.back().end = w.end;
            chars += 1 + length;
        } else {
            cues.push_back({w.text, w.start, w.end});
            chars = length;
        }
    }
    return cues;
}

}  // namespace detail

// words: a range of anything with text, start and end (seconds), e.g. a transcription's
// chunks or an alignment's words. input_error for words that overlap, run backwards, are
// empty or hold a line break.
template <class Words>
std::vector<cue> make_cues(const Words& words, const cue_options& options = {}) {
    std::vector<detail::cue_word> plain;
    for (const auto& w : words) plain.push_back({w.text, w.start, w.end});
    return detail::gather_cues(plain, options);
}

// HH:MM:SS followed by `separator` and milliseconds (rounded to the nearest); more hour digits past 99.
inline std::string subtitle_timestamp(double seconds, char separator) {
    const long long ms = std::llround(seconds * 1000.0);
    char out[40];
    std::snprintf(out, sizeof out, "%02lld:%02lld:%02lld%c%03lld", ms / 3600000, ms / 60000 % 60, ms / 1000 % 60, separator, ms % 1000);
    return out;
}

// SubRip: each cue numbered from 1, its times, its text and a blank line.
inline std::string to_srt(const std::vector<cue>& cues) {
    std::string out;
    for (std::size_t i = 0; i < cues.size(); ++i)
        out += std::to_string(i + 1) + "\n" + subtitle_timestamp(cues[i].start, ',') + " --> " + subtitle_timestamp(cues[i].end, ',') +
               "\n" + cues[i].text + "\n\n";
    return out;
}

// WebVTT: the header, then each cue's times, its text (&, < and > escaped, as cue text
// must) and a blank line.
inline std::string to_webvtt(const std::vector<cue>& cues) {
    std::string out = "WEBVTT\n\n";
    for (const cue& c : cues) {
        out += subtitle_timestamp(c.start, '.') + " --> " + subtitle_timestamp(c.end, '.') + "\n";
        for (char ch : c.text) out += ch == '&' ? "&amp;" : ch == '<' ? "&lt;" : ch == '>' ? "&gt;" : std::string(1, ch);
        out += "\n\n";
    }
    return out;
}

}  // namespace mmt::pipelines
