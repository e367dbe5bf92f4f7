// mmt forward: run any supported checkpoint on tensors named input.<argument>
// and write output.<field>, the layout of the fixtures' reference.safetensors.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "commands.hpp"
#include "mmt/io/safetensors.hpp"
#include "mmt/models/auto_model.hpp"

namespace mmt::cli {

void add_forward(CLI::App& app) {
    struct options {
        std::filesystem::path model, inputs, out;
        std::string language;
    };
    auto o = std::make_shared<options>();
    auto* cmd = app.add_subcommand("forward", "Run a model on input.<argument> tensors, write output.<field> tensors");
    cmd->add_option("--model", o->model, "Model directory (config.json + model.safetensors)")->required();
    cmd->add_option("--inputs", o->inputs, "safetensors file with input.<argument> tensors (others are ignored)")->required();
    cmd->add_option("--out", o->out, "safetensors file to write output.<field> tensors to")->required();
    add_language_option(cmd, o->language);
    cmd->callback([o] {
        const auto model = auto_model::from_pretrained(o->model, model_options(o->language));
        const io::safetensors_file inputs(o->inputs);
        const named_outputs outputs = model.forward(named_inputs::from_file(inputs));
        io::safetensors_writer writer;
        writer.set_metadata("generator", "mmt forward, " + model.architecture());
        for (const auto& [name, t] : outputs) {
            writer.add("output." + name, t);
            std::printf("output.%s %s\n", name.c_str(), io::shape_string({t.shape().begin(), t.shape().end()}).c_str());
        }
        writer.save(o->out);
    });
}

}  // namespace mmt::cli
