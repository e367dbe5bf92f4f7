// What a model family gives the engine, and the list `auto_model` folds over.
//
// A family is a folder models/<family>/ whose family.hpp defines one traits struct:
//
//   struct family {
//       using model = ...;                              // the loaded checkpoint, const and thread-safe
//       static constexpr const char* name = "CLIP";     // for messages
//       static constexpr std::array<const char*, N> model_types = {...};  // config.json model_type values it reads
//       static io::name_table checkpoint_names();       // its name drift (models/<family>/names.hpp)
//       static model load(const io::json& config, const std::string& where, io::weight_loader&);
//       static const char* architecture(const model&);  // HF's class name of the loaded head
//       static named_outputs forward_named(const model&, const named_inputs&);
//   };
//
// models/families.hpp lists the families; nothing else names them (docs/adding-a-family.md).
// with_family folds over any list of types that declare `model_types`: the pipelines'
// implementations of an interface too (pipelines/text_image_embedders.hpp).
#pragma once

#include <iterator>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/io/json.hpp"
#include "mmt/models/architecture_table.hpp"

namespace mmt {

template <class... Family>
struct family_list {};

template <class First, class... Rest>
struct first_of {
    using type = First;
};

// Passes a family to a generic lambda without constructing anything.
template <class Family>
struct family_tag {
    using type = Family;
};

template <class Family>
bool accepts_model_type(const std::string& model_type) {
    for (const char* accepted : Family::model_types)
        if (model_type == accepted) return true;
    return false;
}

// Every model_type the families read, in list order: what an unsupported one is told.
template <class... Family>
std::vector<std::string> model_types_of(family_list<Family...>) {
    std::vector<std::string> out;
    (out.insert(out.end(), std::begin(Family::model_types), std::end(Family::model_types)), ...);
    return out;
}

// config.json's model_type, what with_family dispatches on; "" when absent.
inline std::string model_type_of(const io::json& config, const std::string& where) {
    std::string model_type;
    io::json_optional(config, "model_type", model_type, where);
    return model_type;
}

// fn(family_tag<F>{}) for the first family F that reads `model_type`; a config_error
// listing the model_types the families read when none does.
template <class Fn, class... Family>
auto with_family(family_list<Family...> families, const std::string& model_type, const std::string& where, Fn&& fn) {
    using result = decltype(fn(family_tag<typename first_of<Family...>::type>{}));
    std::optional<result> out;
    const auto try_family = [&](auto tag) {
        if (!accepts_model_type<typename decltype(tag)::type>(model_type)) return false;
        out.emplace(fn(tag));
        return true;
    };
    (try_family(family_tag<Family>{}) || ...);  // stops at the first that reads it
    if (!out)
        fail<config_error>(where, ": model_type \"", model_type, "\" is not supported (expected ", or_list(model_types_of(families)), ")");
    return std::move(*out);
}

// The family whose `model` is Model.
template <class Model, class List>
struct family_of;
template <class Model, class Family, class... Rest>
struct family_of<Model, family_list<Family, Rest...>>
    : std::conditional_t<std::is_same_v<Model, typename Family::model>, family_tag<Family>, family_of<Model, family_list<Rest...>>> {};

}  // namespace mmt
