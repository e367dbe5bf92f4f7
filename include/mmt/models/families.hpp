// The model families `auto_model` (and so `mmt forward`, `mmt random-model` and
// the pipelines' from_pretrained) can load. A new family is its folder under
// models/ plus one entry here (docs/adding-a-family.md); the order only decides
// the order the "not supported" error lists model_types in.
#pragma once

#include "mmt/models/chinese_clip/family.hpp"
#include "mmt/models/clip/family.hpp"
#include "mmt/models/family.hpp"
#include "mmt/models/layoutlm/family.hpp"
#include "mmt/models/layoutlmv3/family.hpp"
#include "mmt/models/lilt/family.hpp"
#include "mmt/models/siglip/family.hpp"
#include "mmt/models/wav2vec2/family.hpp"

namespace mmt {

using families = family_list<clip::family, layoutlm::family, wav2vec2::family, siglip::family, chinese_clip::family,
                            layoutlmv3::family, lilt::family>;

}  // namespace mmt
