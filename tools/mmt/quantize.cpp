// mmt quantize: a model directory with its weights stored in int8 or bf16
// (models/quantize.hpp), which every command loads without quantising again.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "commands.hpp"
#include "mmt/io/checkpoint.hpp"
#include "mmt/models/quantize.hpp"

namespace mmt::cli {

void add_quantize(CLI::App& app) {
    struct options {
        std::filesystem::path model, out;
        std::string precision;
        std::string module_precision;
    };
    auto o = std::make_shared<options>();
    auto* cmd = app.add_subcommand("quantize", "Write a model directory with its linear layers stored in int8 or bf16");
    cmd->add_option("--model", o->model, "Model directory (config.json + model.safetensors or pytorch_model.bin)")->required();
    cmd->add_option("--out", o->out, "Directory to write: model.safetensors and a copy of every other file")->required();
    cmd->add_option("--precision", o->precision, "Precision of the stored weights")->required()->check(CLI::IsMember({"int8", "bf16"}));
    cmd->add_option("--module-precision", o->module_precision,
                    "Modules stored in another precision, as the global --module-precision takes them; loads keep them so");
    cmd->callback([o] {
        namespace fs = std::filesystem;
        const precision p = *precision_named(o->precision);  // int8 or bf16: checked above
        std::uintmax_t before = 0;
        for (const fs::path& file : io::checkpoint::open(o->model).files()) before += fs::file_size(file);
        const std::size_t n = quantize_pretrained(o->model, o->out, p, parse_module_precision(o->module_precision, "--module-precision"));
        const std::uintmax_t after = fs::file_size(o->out / "model.safetensors");
        std::printf("stored %zu weights in %s: %s, %.1f MB (%.0f%% of the checkpoint's %.1f MB)\n", n, precision_name(p),
                    (o->out / "model.safetensors").c_str(), double(after) / 1e6, 100.0 * double(after) / double(before), double(before) / 1e6);
    });
}

}  // namespace mmt::cli
