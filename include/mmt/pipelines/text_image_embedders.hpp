// The text-image embedders that zero-shot image classification and image search
// can load, chosen by config.json's model_type the way auto_model chooses a family
// (with_family, models/family.hpp). Another one is its class, with `model_types`
// and `from_pretrained(dir, options)`, plus one entry in the list.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "mmt/core/load_options.hpp"
#include "mmt/io/json.hpp"
#include "mmt/models/family.hpp"
#include "mmt/pipelines/chinese_clip_embedder.hpp"
#include "mmt/pipelines/clip_embedder.hpp"
#include "mmt/pipelines/interfaces/text_image_embedder.hpp"
#include "mmt/pipelines/siglip_embedder.hpp"

namespace mmt::pipelines {

using text_image_embedders = family_list<clip_embedder, siglip_embedder, chinese_clip_embedder>;

// The embedder whose model_types hold the model_type of dir/config.json, loaded from
// `dir`; a config_error naming the model_type and those the embedders read when none does.
inline std::shared_ptr<const interfaces::text_image_embedder> text_image_embedder_from_pretrained(const std::filesystem::path& dir,
                                                                                                 mmt::load_options options = {}) {
    const std::string config_path = (dir / "config.json").string();
    const std::string model_type = model_type_of(io::read_json_file(config_path), config_path);
    return with_family(text_image_embedders{}, model_type, config_path + " (text-image embedding)",
                       [&](auto tag) -> std::shared_ptr<const interfaces::text_image_embedder> {
                           using embedder = typename decltype(tag)::type;
                           return std::make_shared<const embedder>(embedder::from_pretrained(dir, options));
                       });
}

}  // namespace mmt::pipelines
