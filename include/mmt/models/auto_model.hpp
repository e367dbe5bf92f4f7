// Any supported checkpoint, chosen by config.json (model_type, architectures),
// run by argument and output names: what `mmt forward` is built on. The
// families it knows are models/families.hpp's list; nothing here names one.
#pragma once

#include <filesystem>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include "mmt/core/error.hpp"
#include "mmt/io/checkpoint.hpp"
#include "mmt/io/json.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/models/families.hpp"
#include "mmt/models/family.hpp"
#include "mmt/models/named_tensors.hpp"

namespace mmt {

namespace detail {
template <class List>
struct model_variant;
template <class... Family>
struct model_variant<family_list<Family...>> {
    using type = std::variant<typename Family::model...>;
};
}  // namespace detail

class auto_model {
public:
    // A directory with config.json and model.safetensors (or its shards).
    static auto_model from_pretrained(const std::filesystem::path& dir, mmt::load_options options = {}) {
        const auto config_path = dir / "config.json";
        const io::json config = io::read_json_file(config_path);
        // Before the checkpoint is opened (argument order is unspecified): an unsupported
        // model_type is reported as such, with or without weights beside it.
        const io::name_table names = checkpoint_names(config, config_path.string());
        io::weight_loader loader(io::checkpoint::open(dir), names, options);
        auto_model m = from_config(config, config_path.string(), loader);
        // The loader's options: a quantized checkpoint's precision, for the adapter too.
        if (!options.target_lang.empty()) m.load_adapter(dir, loader.options());
        return m;
    }

    // The name table of the family `config` names.
    static io::name_table checkpoint_names(const io::json& config, const std::string& where) {
        return with_family(families{}, model_type_of(config, where), where, [](auto f) { return decltype(f)::type::checkpoint_names(); });
    }

    // The model `config` describes, its tensors taken from `loader` (e.g. a synthesizing one).
    static auto_model from_config(const io::json& config, const std::string& where, io::weight_loader& loader) {
        return with_family(families{}, model_type_of(config, where), where,
                           [&](auto f) { return auto_model(decltype(f)::type::load(config, where, loader)); });
    }

    std::string architecture() const {
        return std::visit([](const auto& m) { return std::string(family_t<std::decay_t<decltype(m)>>::architecture(m)); }, model_);
    }

    named_outputs forward(const named_inputs& inputs) const {
        return std::visit([&](const auto& m) { return family_t<std::decay_t<decltype(m)>>::forward_named(m, inputs); }, model_);
    }

    template <class Model>
    const Model* get() const { return std::get_if<Model>(&model_); }

    // The model as `Interface` (models/interfaces/), or nullptr when its class does not
    // implement it: how a pipeline takes any family that can serve it.
    template <class Interface>
    const Interface* as() const {
        return std::visit(
            [](const auto& m) -> const Interface* {
                if constexpr (std::is_base_of_v<Interface, std::decay_t<decltype(m)>>) return &m;
                return nullptr;
            },
            model_);
    }

private:
    template <class Model, class = void>
    struct has_adapters : std::false_type {};
    template <class Model>
    struct has_adapters<Model, std::void_t<decltype(std::declval<Model&>().load_adapter(std::filesystem::path(), std::string(),
                                                                                        mmt::load_options()))>> : std::true_type {};

    // options.target_lang's adapter (MMS), for a family whose models take language adapters.
    void load_adapter(const std::filesystem::path& dir, const mmt::load_options& options) {
        std::visit(
            [&](auto& m) {
                if constexpr (has_adapters<std::decay_t<decltype(m)>>::value) {
                    m.load_adapter(dir, options.target_lang, options);
                } else {
                    fail<config_error>("language \"", options.target_lang, "\": '", dir.string(), "' holds a ", architecture(),
                                       ", which has no language adapters");
                }
            },
            model_);
    }

    using any_model = detail::model_variant<families>::type;
    explicit auto_model(any_model m) : model_(std::move(m)) {}

    template <class Model>
    using family_t = typename family_of<Model, families>::type;

    any_model model_;
};

}  // namespace mmt
