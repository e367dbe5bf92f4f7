// A speech pipeline's model: whatever family auto_model loads from a directory,
// taken as the interface the pipeline needs (models/interfaces/), so a family
// that implements it joins the pipeline unchanged.
#pragma once

#include <filesystem>
#include <memory>

#include "mmt/core/error.hpp"
#include "mmt/core/load_options.hpp"
#include "mmt/models/auto_model.hpp"

namespace mmt::pipelines {

// The model of `dir` as `Interface`, sharing its ownership; a config_error naming
// `task` (e.g. "speech recognition") when the family does not implement it.
template <class Interface>
std::shared_ptr<const Interface> speech_model_as(const std::filesystem::path& dir, const mmt::load_options& options, const char* task) {
    const auto model = std::make_shared<const auto_model>(auto_model::from_pretrained(dir, options));
    const auto* as = model->as<Interface>();
    if (!as) fail<config_error>(task, " needs a speech model; '", dir.string(), "' holds a ", model->architecture());
    return std::shared_ptr<const Interface>(model, as);
}

}  // namespace mmt::pipelines
