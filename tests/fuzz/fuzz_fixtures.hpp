// The model fixtures the config and checkpoint targets load with: every directory
// of tests/data holding config.json and model.safetensors, by its config's
// model_type, and a fold over the families of models/families.hpp that meets each
// family with the fixtures of the model_types it reads. A new family is fuzzed
// once its fixture is there. The input's length picks the precision the linear
// layers load in, so quantising at load (bf16, int8) meets the same inputs.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "fuzz_support.hpp"
#include "mmt/core/load_options.hpp"
#include "mmt/io/checkpoint.hpp"
#include "mmt/io/json.hpp"
#include "mmt/models/families.hpp"

namespace mmt::fuzz {

struct model_fixture {
    std::string config_path;
    io::json config;
    io::checkpoint checkpoint;
};

using model_fixtures = std::map<std::string, std::vector<model_fixture>>;  // by model_type

inline model_fixtures read_model_fixtures() {
    model_fixtures out;
    for (const auto& entry : std::filesystem::directory_iterator(data_path(""))) {
        const auto config_path = entry.path() / "config.json";
        if (!std::filesystem::exists(config_path) || !std::filesystem::exists(entry.path() / "model.safetensors")) continue;
        io::json config = io::read_json_file(config_path);
        const std::string model_type = model_type_of(config, config_path.string());
        out[model_type].push_back({config_path.string(), std::move(config), io::checkpoint::open(entry.path())});
    }
    return out;
}

// float32, bf16 or int8 linear layers, by the input's length.
inline load_options options_for(std::size_t input_size) {
    constexpr precision precisions[] = {precision::f32, precision::bf16, precision::int8};
    return load_options(precisions[input_size % 3]);
}

// fn(family_tag<F>{}, fixture) for each family F and each fixture of a model_type F reads.
template <class Fn, class... Family>
void for_each_family_fixture(family_list<Family...>, const model_fixtures& fixtures, Fn&& fn) {
    const auto visit = [&](auto tag) {
        for (const char* model_type : decltype(tag)::type::model_types) {
            const auto found = fixtures.find(model_type);
            if (found == fixtures.end()) continue;
            for (const model_fixture& fixture : found->second) fn(tag, fixture);
        }
    };
    (visit(family_tag<Family>{}), ...);
}

}  // namespace mmt::fuzz
