// A small image search: images ranked by the cosine similarity of their
// embeddings to a query's, with any interfaces::text_image_embedder (CLIP).
// A collection embedded once into a folder is searched by pipelines/embedding_index.hpp.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/ops/top_k_dot.hpp"
#include "mmt/pipelines/interfaces/text_image_embedder.hpp"

namespace mmt::pipelines {

struct search_hit {
    std::size_t index = 0;  // position in the image list
    float score = 0;        // cosine similarity, -1..1
};

// queries: [q, dim], embeds: [n, dim], unit rows. For each query the k rows of
// `embeds` most similar to it, best first; of equal scores the lower index first.
inline std::vector<std::vector<search_hit>> nearest(const tensor<2>& queries, const tensor<2>& embeds, std::size_t k) {
    if (queries.shape(1) != embeds.shape(1))
        fail<shape_error>("image search: the embeddings have width ", embeds.shape(1), ", the queries ", queries.shape(1));
    std::vector<std::vector<search_hit>> out;
    for (const auto& best : ops::top_k_dot(queries.data(), queries.shape(0), queries.shape(1), {{embeds.data(), embeds.shape(0)}}, k)) {
        std::vector<search_hit> hits;
        for (const ops::scored_row& s : best) hits.push_back({s.row, s.score});
        out.push_back(std::move(hits));
    }
    return out;
}

// `image_embeds`: [images, projection_dim] unit rows, e.g. from embed_images
// (embed a collection once, query it many times). All of them, best first.
inline std::vector<search_hit> rank_images(const interfaces::text_image_embedder& embedder, const std::string& query,
                                          const tensor<2>& image_embeds) {
    return nearest(embedder.embed_texts({query}), image_embeds, image_embeds.shape(0)).front();
}

}  // namespace mmt::pipelines
