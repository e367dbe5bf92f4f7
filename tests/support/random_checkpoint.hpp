// Random float32 weights for a block's test: written under a prefix to a scratch
// model.safetensors for the block to load, and kept in double for its naive twin.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "mmt/core/xtensor.hpp"
#include "mmt/io/safetensors.hpp"
#include "support/data.hpp"
#include "support/naive.hpp"
#include "support/random.hpp"

namespace mmt::test {

class random_checkpoint {
public:
    std::map<std::string, naive::array> weights;  // by name without the prefix

    // The file goes to the scratch directory `scratch`; tensors are seeded seed, seed + 1, ...
    random_checkpoint(const std::string& scratch, std::string prefix, std::uint32_t seed)
        : path_(scratch_dir(scratch) / "model.safetensors"), prefix_(std::move(prefix)), seed_(seed) {}

    // prefix + name, values uniform in [lo, hi).
    void add(const std::string& name, const std::vector<std::size_t>& shape, float lo, float hi) {
        dyn_tensor<float> t(shape);
        const tensor<1> values = random_tensor<1>({t.size()}, seed_++, lo, hi);
        std::copy(values.begin(), values.end(), t.begin());
        writer_.add(prefix_ + name, t);
        weights[name] = naive::to_double(t);
    }

    // Writes the file; returns its path.
    std::filesystem::path save() {
        writer_.save(path_);
        return path_;
    }

private:
    std::filesystem::path path_;
    std::string prefix_;
    std::uint32_t seed_;
    io::safetensors_writer writer_;
};

}  // namespace mmt::test
