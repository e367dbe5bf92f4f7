// mmt random-model: a checkpoint with random weights for any supported config.json.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "commands.hpp"
#include "mmt/models/random_model.hpp"

namespace mmt::cli {

void add_random_model(CLI::App& app) {
    struct options {
        std::filesystem::path config, out;
        std::string dtype = "f32";
        std::uint64_t seed = 0;
    };
    auto o = std::make_shared<options>();
    auto* cmd = app.add_subcommand("random-model", "Write config.json + model.safetensors with random weights and HF's names");
    cmd->add_option("--config", o->config, "A config.json (e.g. of a hub checkpoint)")->required()->check(CLI::ExistingFile);
    cmd->add_option("--out", o->out, "Directory to write")->required();
    cmd->add_option("--dtype", o->dtype, "Weight type")->check(CLI::IsMember({"f32", "f16", "bf16"}));
    cmd->add_option("--seed", o->seed, "Seed of the weights");
    cmd->callback([o] {
        const dtype type = o->dtype == "f16" ? dtype::f16 : o->dtype == "bf16" ? dtype::bf16 : dtype::f32;
        const std::size_t n = write_random_model(o->config, o->out, type, o->seed);
        std::printf("wrote %zu tensors (%s) to %s\n", n, dtype_name(type), (o->out / "model.safetensors").c_str());
    });
}

}  // namespace mmt::cli
