// A small image search: images ranked by the cosine similarity of their
// embeddings to a text query's, with any interfaces::text_image_embedder (CLIP).
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/pipelines/clip_embedder.hpp"
#include "mmt/pipelines/interfaces/text_image_embedder.hpp"

namespace mmt::pipelines {

struct search_hit {
    std::size_t index = 0;  // position in the image list
    float score = 0;        // cosine similarity, -1..1
};

// `image_embeds`: [images, projection_dim] unit rows, e.g. from embed_images
// (embed a collection once, query it many times). Best first.
inline std::vector<search_hit> rank_images(const interfaces::text_image_embedder& embedder, const std::string& query,
                                          const tensor<2>& image_embeds) {
    const tensor<2> q = embedder.embed_texts({query});  // [1, projection_dim]
    if (image_embeds.dimension() != 2 || image_embeds.shape(1) != q.shape(1))
        fail<shape_error>("image search: image embeddings have width ", image_embeds.shape(1), ", the text embedding ", q.shape(1));
    std::vector<search_hit> hits;
    for (std::size_t i = 0; i < image_embeds.shape(0); ++i) {
        float dot = 0;
        for (std::size_t k = 0; k < q.shape(1); ++k) dot += q(0, k) * image_embeds(i, k);
        hits.push_back({i, dot});
    }
    std::stable_sort(hits.begin(), hits.end(), [](const auto& a, const auto& b) { return a.score > b.score; });
    return hits;
}

}  // namespace mmt::pipelines
