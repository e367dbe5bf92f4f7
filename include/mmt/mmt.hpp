// Umbrella header: all of mmt. Programs include this; the library's own
// headers include what they use, never this.
#pragma once

#include "mmt/core/dtype.hpp"
#include "mmt/core/error.hpp"
#include "mmt/core/threading.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/checkpoint.hpp"
#include "mmt/io/image.hpp"
#include "mmt/io/json.hpp"
#include "mmt/io/safetensors.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/models/auto_model.hpp"
#include "mmt/models/clip/clip_model.hpp"
#include "mmt/models/random_model.hpp"
#include "mmt/pipelines/clip_embedder.hpp"
#include "mmt/pipelines/image_search.hpp"
#include "mmt/pipelines/zero_shot_image_classification.hpp"
#include "mmt/preprocess/image.hpp"
#include "mmt/tokenizers/clip_bpe.hpp"
