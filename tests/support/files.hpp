// Files the tests write, read back or damage: whole files as strings, scratch
// copies of a model directory, and edits of its config.json and checkpoint.
#pragma once

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>

#include "mmt/core/xtensor.hpp"
#include "mmt/io/json.hpp"
#include "mmt/io/safetensors.hpp"
#include "support/data.hpp"

namespace mmt::test {

inline void write_file(const std::filesystem::path& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

inline std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// How many lines a program printed.
inline std::size_t count_lines(const std::string& s) { return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n')); }

// A model directory's config.json and model.safetensors copied into a fresh
// scratch directory `name`, for a test to damage.
inline std::filesystem::path copy_model(const std::filesystem::path& source, const std::string& name) {
    const std::filesystem::path dir = scratch_dir(name);
    std::filesystem::copy_file(source / "config.json", dir / "config.json");
    std::filesystem::copy_file(source / "model.safetensors", dir / "model.safetensors");
    return dir;
}

inline void edit_config(const std::filesystem::path& dir, const std::function<void(io::json&)>& edit) {
    io::json config = io::read_json_file(dir / "config.json");
    edit(config);
    write_file(dir / "config.json", config.dump(2));
}

// Rewrites dir/model.safetensors: `edit` may change a tensor, or return false to
// drop it; `add` adds more.
inline void rewrite_checkpoint(const std::filesystem::path& dir,
                               const std::function<bool(const std::string& name, dyn_tensor<float>&)>& edit,
                               const std::function<void(io::safetensors_writer&)>& add = {}) {
    io::safetensors_writer writer;
    {
        const io::safetensors_file original(dir / "model.safetensors");  // unmapped before the file is replaced
        for (const auto& name : original.names()) {
            dyn_tensor<float> t = original.load<float>(name);
            if (edit(name, t)) writer.add(name, t);
        }
    }
    if (add) add(writer);
    writer.save(dir / "model.safetensors");
}

}  // namespace mmt::test
