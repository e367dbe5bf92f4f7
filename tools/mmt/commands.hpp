// The mmt tool's subcommands. Each add_* registers one on the app; its
// callback runs inside main's error handler, so a failure becomes one line.
#pragma once

#include <cstddef>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "mmt/io/weight_scope.hpp"

namespace mmt::cli {

// What the user is told of a failure: its message, or for std::bad_alloc and
// std::length_error (an input past what mmt's limits foresee) one that says the
// input of `command` is too large, instead of the standard library's words.
std::string error_text(const std::exception& e, const std::string& command);

// How models are loaded, from the global options (--precision).
const mmt::load_options& model_options();
// The same with a speech command's --language (add_language_option): an MMS
// checkpoint's adapter and vocabulary; empty keeps the checkpoint's own.
mmt::load_options model_options(const std::string& language);
void add_language_option(CLI::App* cmd, std::string& language);

void add_forward(CLI::App& app);
void add_inspect(CLI::App& app);
void add_random_model(CLI::App& app);
void add_tokenize(CLI::App& app);
void add_clip_commands(CLI::App& app);  // preprocess-image, classify-image, embed, search
void add_layoutlm_commands(CLI::App& app);  // tag-document, classify-document
void add_wav2vec2_commands(CLI::App& app);  // transcribe, speech-units, preprocess-audio
void add_classify_audio(CLI::App& app);
void add_align(CLI::App& app);
void add_embed_collection(CLI::App& app);
void add_convert(CLI::App& app);  // pytorch_model.bin to model.safetensors
void add_quantize(CLI::App& app);  // weights stored in int8 or bf16
void add_worker(CLI::App& app);   // JSON-lines requests on stdin, results on stdout
void add_serve(CLI::App& app);    // the model over HTTP

// `mmt tokenize` with a WordPiece vocab.txt: each TEXT's ids.
void tokenize_wordpiece(const std::filesystem::path& model, std::size_t max_length, const std::vector<std::string>& texts);
// `mmt tokenize --words-json`: the words + boxes (+ labels or question) of the file, by the
// model's document tokenizer.
void tokenize_words(const std::filesystem::path& model, std::size_t max_length, const std::filesystem::path& words_json);

}  // namespace mmt::cli
