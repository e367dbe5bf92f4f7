// mmt inspect: what a safetensors file holds.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "commands.hpp"
#include "mmt/io/safetensors.hpp"

namespace mmt::cli {

void add_inspect(CLI::App& app) {
    auto file = std::make_shared<std::filesystem::path>();
    auto* cmd = app.add_subcommand("inspect", "List the tensors (name, dtype, shape) of a safetensors file");
    cmd->add_option("FILE", *file, "A .safetensors file")->required();
    cmd->callback([file] {
        const io::safetensors_file f(*file);
        for (const auto& [key, value] : f.metadata()) std::printf("metadata %s: %s\n", key.c_str(), value.c_str());
        std::size_t elements = 0, bytes = 0;
        for (const auto& name : f.names()) {
            const auto& t = f.info(name);
            std::printf("%-60s %-5s %s\n", name.c_str(), dtype_name(t.dtype), io::shape_string(t.shape).c_str());
            elements += t.numel();
            bytes += t.nbytes;
        }
        std::printf("%zu tensors, %zu elements, %zu bytes\n", f.size(), elements, bytes);
    });
}

}  // namespace mmt::cli
