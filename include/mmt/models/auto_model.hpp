// Any supported checkpoint, chosen by config.json (model_type, architectures),
// run by argument and output names: what `mmt forward` is built on.
#pragma once

#include <filesystem>
#include <string>
#include <variant>

#include "mmt/core/error.hpp"
#include "mmt/io/json.hpp"
#include "mmt/models/clip/forward_named.hpp"
#include "mmt/models/layoutlm/forward_named.hpp"
#include "mmt/models/named_tensors.hpp"
#include "mmt/models/wav2vec2/forward_named.hpp"

namespace mmt {

class auto_model {
public:
    // A directory with config.json and model.safetensors (or its shards).
    static auto_model from_pretrained(const std::filesystem::path& dir, io::load_options options = {}) {
        const auto config_path = dir / "config.json";
        const io::json config = io::read_json_file(config_path);
        // Before the checkpoint is opened (argument order is unspecified): an unsupported
        // model_type is reported as such, with or without weights beside it.
        const family f = family_of(config, config_path.string());
        io::weight_loader loader(io::checkpoint::open(dir), checkpoint_names(f), options);
        return from_config(config, config_path.string(), loader);
    }

    // The model `config` describes, its tensors taken from `loader` (e.g. a synthesizing one).
    static auto_model from_config(const io::json& config, const std::string& where, io::weight_loader& loader) {
        switch (family_of(config, where)) {
            case family::clip: return auto_model(clip::clip_model::load(clip::config::from_json(config, where), loader));
            case family::layoutlm:
                return auto_model(layoutlm::pretrained_model::load(layoutlm::config::from_json(config, where), loader));
            case family::wav2vec2:
                return auto_model(wav2vec2::wav2vec2_model::load(wav2vec2::config::from_json(config, where), loader));
        }
        fail<config_error>(where, ": unsupported model family");
    }

    std::string architecture() const {
        return std::visit([](const auto& m) { return std::string(architecture_of(m)); }, model_);
    }

    named_outputs forward(const named_inputs& inputs) const {
        return std::visit([&](const auto& m) { return forward_of(m, inputs); }, model_);
    }

    template <class Model>
    const Model* get() const { return std::get_if<Model>(&model_); }

private:
    enum class family { clip, layoutlm, wav2vec2 };

    static family family_of(const io::json& config, const std::string& where) {
        std::string model_type;
        io::json_optional(config, "model_type", model_type, where);
        if (model_type == "clip" || model_type == "clip_text_model" || model_type == "clip_vision_model") return family::clip;
        if (model_type == "layoutlm") return family::layoutlm;
        if (model_type == "wav2vec2") return family::wav2vec2;
        fail<config_error>(where, ": model_type \"", model_type,
                           "\" is not supported (expected clip, clip_text_model, clip_vision_model, layoutlm or wav2vec2)");
    }

    static io::name_table checkpoint_names(family f) {
        switch (f) {
            case family::clip: return clip::checkpoint_names();
            case family::layoutlm: return layoutlm::checkpoint_names();
            case family::wav2vec2: return wav2vec2::checkpoint_names();
        }
        return {};
    }

    using any_model = std::variant<clip::clip_model, layoutlm::pretrained_model, wav2vec2::wav2vec2_model>;
    explicit auto_model(any_model m) : model_(std::move(m)) {}

    static const char* architecture_of(const clip::clip_model& m) { return clip::architecture_name(m.config.arch); }
    static named_outputs forward_of(const clip::clip_model& m, const named_inputs& in) { return clip::forward_named(m, in); }
    static const char* architecture_of(const layoutlm::pretrained_model& m) { return m.architecture_name(); }
    static named_outputs forward_of(const layoutlm::pretrained_model& m, const named_inputs& in) { return layoutlm::forward_named(m, in); }
    static const char* architecture_of(const wav2vec2::wav2vec2_model& m) { return wav2vec2::architecture_name(m.config.arch); }
    static named_outputs forward_of(const wav2vec2::wav2vec2_model& m, const named_inputs& in) { return wav2vec2::forward_named(m, in); }

    any_model model_;
};

}  // namespace mmt
