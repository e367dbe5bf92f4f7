// mmt: run CLIP, LayoutLM and the wav2vec2-like speech checkpoints from the command line.
#include <cstddef>
#include <cstdio>
#include <exception>
#include <new>
#include <stdexcept>
#include <string>

#include <CLI/CLI.hpp>

#include "commands.hpp"
#include "option_checks.hpp"
#include "mmt/core/error.hpp"
#include "mmt/core/threading.hpp"
#include "mmt/ops/packed_gemm_any.hpp"

namespace {
mmt::load_options options;

// A message as the terminal may show it: control bytes (C0, DEL, and C1 as UTF-8,
// which include the CSI that starts escape sequences) and bytes that are no UTF-8
// spelled as \xNN or \u00NN, so an OCR word or a file name in a message cannot
// retitle the window or clear the screen.
std::string printable(const std::string& text) {
    static const char* hex = "0123456789abcdef";
    const auto byte = [&](std::size_t i) { return i < text.size() ? static_cast<unsigned char>(text[i]) : 0u; };
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const unsigned c = byte(i);
        // The length of the UTF-8 sequence starting here, 0 when none does.
        std::size_t length = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
        for (std::size_t k = 1; k < length; ++k)
            if ((byte(i + k) & 0xc0) != 0x80) length = 0;
        if (c < 0x20 || c == 0x7f || length == 0) {
            out += std::string("\\x") + hex[c >> 4] + hex[c & 15];
        } else if (c == 0xc2 && byte(i + 1) <= 0x9f) {  // U+0080..U+009F
            out += std::string("\\u00") + hex[byte(i + 1) >> 4] + hex[byte(i + 1) & 15];
            ++i;
        } else {
            out.append(text, i, length);
            i += length - 1;
        }
    }
    return out;
}

// The subcommand being run ("worker", "embed"), or "mmt" before one was parsed.
std::string command_name(const CLI::App& app) {
    const auto chosen = app.get_subcommands();
    return chosen.empty() ? "mmt" : chosen.front()->get_name();
}
}  // namespace

// An allocation the machine cannot give, or a size past what a container holds,
// comes from an input (a file, an option) asking for more than mmt's limits
// foresee: said as such, with the command, instead of "std::bad_alloc" or
// "vector::_M_default_append".
std::string mmt::cli::error_text(const std::exception& e, const std::string& command) {
    const bool out_of_memory = dynamic_cast<const std::bad_alloc*>(&e) != nullptr;
    if (!out_of_memory && !dynamic_cast<const std::length_error*>(&e)) return e.what();
    return command + ": input too large: " +
           (out_of_memory ? "it needs more memory than this machine gives the process"
                          : "it asks for a size larger than a container can hold") +
           " (try fewer or smaller inputs, or lower sizes in its options or files)";
}

const mmt::load_options& mmt::cli::model_options() { return options; }

mmt::load_options mmt::cli::model_options(const std::string& language) {
    mmt::load_options with = options;
    with.target_lang = language;
    return with;
}

void mmt::cli::add_language_option(CLI::App* cmd, std::string& language) {
    cmd->add_option("--language", language,
                    "MMS checkpoints: the language (e.g. fra) whose adapter.LANG.safetensors and vocab.json part to use");
}

int main(int argc, char** argv) {
    CLI::App app{"mmt: CLIP, LayoutLM, Wav2Vec2, HuBERT, WavLM and Data2VecAudio inference from HuggingFace checkpoints"};
    app.require_subcommand(1);
    int threads = 0;
    app.add_option("--threads", threads, "Threads for the ops (default: all cores)")->check(mmt::cli::in_range(1));
    std::string precision = "f32";
    app.add_option("--precision", precision,
                   "Linear layers in f32 (exact, the default), bf16 (float32 accumulation) or int8 (dynamic quantisation, VNNI)")
        ->check(CLI::IsMember({"f32", "bf16", "int8"}));
    std::string module_precision;
    app.add_option("--module-precision", module_precision,
                   "Modules whose layers take another precision than --precision, as MODULE=PRECISION pairs separated by "
                   "commas, MODULE being components of the checkpoint's names: feature_extractor=bf16,encoder.layers.0=f32");
    bool verbose = false;
    app.add_flag("--verbose", verbose, "Say on stderr which GEMM kernel the linear layers run and on how many threads");
    app.parse_complete_callback([&] {
        if (threads > 0) mmt::set_num_threads(threads);
        options.linear = *mmt::precision_named(precision);  // one of them: checked above
        options.module_precision = mmt::parse_module_precision(module_precision, "--module-precision");
        if (verbose)  // the kernel is chosen at run time from the CPU's instructions
            std::fprintf(stderr, "mmt: linear layers in %s: %s kernel, %d thread%s%s%s\n", precision.c_str(),
                         mmt::ops::packed_gemm_kernel(options.linear),
                         mmt::num_threads(), mmt::num_threads() == 1 ? "" : "s",
                         module_precision.empty() ? "" : "; ", module_precision.c_str());
    });
    app.failure_message([](const CLI::App*, const CLI::Error& e) {
        return "mmt: error: " + printable(e.what()) + " (see --help)\n";
    });
    mmt::cli::add_forward(app);
    mmt::cli::add_inspect(app);
    mmt::cli::add_random_model(app);
    mmt::cli::add_tokenize(app);
    mmt::cli::add_clip_commands(app);
    mmt::cli::add_layoutlm_commands(app);
    mmt::cli::add_wav2vec2_commands(app);
    mmt::cli::add_classify_audio(app);
    mmt::cli::add_align(app);
    mmt::cli::add_embed_collection(app);
    mmt::cli::add_convert(app);
    mmt::cli::add_quantize(app);
    mmt::cli::add_worker(app);
    mmt::cli::add_serve(app);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "mmt: error: %s\n", printable(mmt::cli::error_text(e, command_name(app))).c_str());
        return 1;
    }
    return 0;
}
