// The small configs CLIP's towers build their blocks from (layers::vit_embeddings_config,
// clip::text_transformer_config): what CLIP sets, and the text tower's causal flag at work.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "mmt/models/clip/clip_model.hpp"
#include "support/check_close.hpp"
#include "support/data.hpp"
#include "support/tolerances.hpp"

using namespace mmt;

namespace {

// The largest |a - b| over the hidden states of row 0 at position s.
double max_diff_at(const tensor<3>& a, const tensor<3>& b, std::size_t s) {
    double worst = 0;
    for (std::size_t i = 0; i < a.shape(2); ++i) worst = std::max(worst, std::abs(double(a(0, s, i)) - double(b(0, s, i))));
    return worst;
}

}  // namespace

TEST_CASE("models.clip_configs: CLIP's towers ask for a class token, pre_layrnorm and a causal text encoder" *
          doctest::test_suite("unit")) {
    const clip::config c = clip::config::from_file(test::data_path("clip-tiny/config.json"));
    const layers::vit_embeddings_config e = c.vision.embeddings();
    CHECK(e.hidden_size == 48);
    CHECK(e.num_channels == 3);
    CHECK(e.image_size == 30);
    CHECK(e.patch_size == 6);
    CHECK(e.class_token);
    CHECK_FALSE(e.patch_bias);
    CHECK(e.pre_norm);
    CHECK(e.layer_norm_eps == c.vision.layer_norm_eps);
    CHECK(e.num_positions() == 26);

    const clip::text_transformer_config t = c.text.transformer();
    CHECK(t.causal);
    CHECK(t.vocab_size == 99);
    CHECK(t.max_position_embeddings == 16);
    CHECK(t.num_hidden_layers == 2);
    CHECK(t.layer.hidden_size == 32);
    CHECK(t.layer.num_attention_heads == 4);
    CHECK(t.layer.norm == layers::norm_position::pre);
    CHECK(t.eos_token_id == 2);
}

TEST_CASE("models.clip_configs: the text tower sees later tokens only when it is not causal" * doctest::test_suite("unit")) {
    auto model = clip::clip_model::from_pretrained(test::data_path("clip-tiny"));
    int_tensor<2> ids({1, 6});
    const std::vector<std::int64_t> row{0, 5, 9, 17, 40, 2};
    std::copy(row.begin(), row.end(), ids.begin());
    int_tensor<2> changed = ids;
    changed(0, 4) = 77;  // a token before the end token
    const int_tensor<2> no_mask;

    // Causal (CLIP): positions before the changed token do not move, the last one does.
    const tensor<3> causal = model.text_forward(ids, no_mask).last_hidden_state;
    const tensor<3> causal_changed = model.text_forward(changed, no_mask).last_hidden_state;
    for (std::size_t s = 0; s < 4; ++s) CHECK(max_diff_at(causal, causal_changed, s) == 0.0);
    CHECK(max_diff_at(causal, causal_changed, 5) > 1e-3);

    // Not causal: the first position sees the change too; a single token is the same either way.
    const int_tensor<2> one = xt::view(ids, xt::all(), xt::range(0, 1));
    const tensor<3> causal_one = model.text_forward(one, no_mask).last_hidden_state;
    model.text_model->config.causal = false;
    const tensor<3> full = model.text_forward(ids, no_mask).last_hidden_state;
    const tensor<3> full_changed = model.text_forward(changed, no_mask).last_hidden_state;
    CHECK(max_diff_at(full, full_changed, 0) > 1e-3);
    CHECK(max_diff_at(full, causal, 0) > 1e-3);
    test::check_close(model.text_forward(one, no_mask).last_hidden_state, causal_one, test::tol::model_abs, "one token, not causal");
}
