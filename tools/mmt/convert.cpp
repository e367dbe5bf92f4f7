// mmt convert: a model's pytorch_model.bin (or its shards) as one model.safetensors,
// every tensor in its own dtype, bytes unchanged.
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "commands.hpp"
#include "mmt/io/checkpoint.hpp"
#include "mmt/io/safetensors.hpp"

namespace mmt::cli {

void add_convert(CLI::App& app) {
    struct options {
        std::filesystem::path model, out;
        bool force = false;
    };
    auto o = std::make_shared<options>();
    auto* cmd = app.add_subcommand("convert", "Write a model directory's pytorch_model.bin (or its shards) as model.safetensors beside it");
    cmd->add_option("--model", o->model, "Model directory with pytorch_model.bin or pytorch_model.bin.index.json")->required();
    cmd->add_option("--out", o->out, "File to write (default: model.safetensors in the model directory)");
    cmd->add_flag("--force", o->force, "Replace the output file if it exists");
    cmd->callback([o] {
        namespace fs = std::filesystem;
        fs::path source = o->model / "pytorch_model.bin";
        if (!fs::exists(source)) source = o->model / "pytorch_model.bin.index.json";
        if (!fs::exists(source))
            fail<io_error>("'", o->model.string(), "' has neither pytorch_model.bin nor pytorch_model.bin.index.json");
        const fs::path out = o->out.empty() ? o->model / "model.safetensors" : o->out;
        if (fs::exists(out) && !o->force) fail<io_error>("'", out.string(), "' exists; pass --force to replace it");
        const io::checkpoint ckpt = io::checkpoint::open(source);
        io::safetensors_writer writer;
        writer.set_metadata("format", "pt");  // as transformers writes it
        std::size_t bytes = 0;
        for (const auto& name : ckpt.names()) {
            const io::tensor_info& t = ckpt.info(name);
            std::string data(t.nbytes, '\0');
            ckpt.file_of(name).read_bytes(t, data.data());
            writer.add_raw(name, t.dtype, t.shape, std::move(data));
            bytes += t.nbytes;
        }
        writer.save(out);
        std::printf("wrote %zu tensors (%zu bytes) from %s to %s\n", ckpt.names().size(), bytes, ckpt.description().c_str(),
                    out.c_str());
    });
}

}  // namespace mmt::cli
