// Loading a directory as the hub has it (config.json + model.safetensors or its
// shards), the same three steps for every family's `from_pretrained`.
#pragma once

#include <filesystem>

#include "mmt/io/checkpoint.hpp"
#include "mmt/io/weight_scope.hpp"

namespace mmt {

// Config::from_file, then Model::load(config, loader) over the checkpoint with the
// family's name table. The config is read first, so a broken config.json is reported
// as such even when the weights are missing too.
template <class Model, class Config>
Model load_pretrained(const std::filesystem::path& dir, const io::name_table& names, mmt::load_options options) {
    const Config config = Config::from_file(dir / "config.json");
    io::weight_loader loader(io::checkpoint::open(dir), names, options);
    return Model::load(config, loader);
}

}  // namespace mmt
