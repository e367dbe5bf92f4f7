// The mmt tool's subcommands. Each add_* registers one on the app; its
// callback runs inside main's error handler, so a failure becomes one line.
#pragma once

#include <CLI/CLI.hpp>

namespace mmt::cli {

void add_forward(CLI::App& app);
void add_inspect(CLI::App& app);
void add_random_model(CLI::App& app);
void add_tokenize(CLI::App& app);
void add_clip_commands(CLI::App& app);  // preprocess-image, classify-image, embed, search

}  // namespace mmt::cli
