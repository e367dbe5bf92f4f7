// bf16 linear layers against float32 on the fixtures: what a user sees must not
// change — CLIP embeddings point the same way (cosine >= 0.999), LayoutLM's word
// labels and the CTC transcript are the same.
#include <cmath>

#include <doctest/doctest.h>

#include "mmt/io/safetensors.hpp"
#include "mmt/models/clip/clip_model.hpp"
#include "mmt/models/layoutlm/heads.hpp"
#include "mmt/models/wav2vec2/wav2vec2_model.hpp"
#include "mmt/ops/packed_gemm_bf16.hpp"
#include "mmt/tokenizers/ctc_decode.hpp"
#include "support/data.hpp"

using namespace mmt;

namespace {
const io::load_options bf16{io::precision::bf16};

// Smallest cosine similarity between matching rows of a and b.
double min_row_cosine(const tensor<2>& a, const tensor<2>& b) {
    double worst = 1;
    for (std::size_t r = 0; r < a.shape(0); ++r) {
        double dot = 0, na = 0, nb = 0;
        for (std::size_t i = 0; i < a.shape(1); ++i) {
            dot += double(a(r, i)) * b(r, i);
            na += double(a(r, i)) * a(r, i);
            nb += double(b(r, i)) * b(r, i);
        }
        worst = std::min(worst, dot / std::sqrt(na * nb));
    }
    return worst;
}

// [batch, seq, classes] -> [batch, seq]: the first largest class, as torch.argmax.
int_tensor<2> argmax_last(const tensor<3>& logits) {
    int_tensor<2> out = int_tensor<2>::from_shape({logits.shape(0), logits.shape(1)});
    for (std::size_t b = 0; b < logits.shape(0); ++b)
        for (std::size_t s = 0; s < logits.shape(1); ++s) {
            std::size_t best = 0;
            for (std::size_t c = 1; c < logits.shape(2); ++c)
                if (logits(b, s, c) > logits(b, s, best)) best = c;
            out(b, s) = std::int64_t(best);
        }
    return out;
}
}  // namespace

TEST_CASE("precision.bf16: CLIP embeddings keep cosine >= 0.999 with float32's" * doctest::test_suite("unit")) {
    const auto dir = test::data_path("clip-tiny");
    const io::safetensors_file ref(dir / "reference.safetensors");
    const auto ids = ref.load<std::int64_t, 2>("input.input_ids");
    const auto mask = ref.load<std::int64_t, 2>("input.attention_mask");
    const auto pixels = ref.load<float, 4>("input.pixel_values");
    const auto f32 = clip::clip_model::from_pretrained(dir);
    const auto half = clip::clip_model::from_pretrained(dir, bf16);
    CHECK(half.text_projection->is_bf16());
    const double text = min_row_cosine(f32.get_text_features(ids, mask), half.get_text_features(ids, mask));
    const double image = min_row_cosine(f32.get_image_features(pixels), half.get_image_features(pixels));
    MESSAGE("bf16 (" << std::string(ops::packed_gemm_bf16_kernel()) << "): text_embeds cosine >= " << text << ", image_embeds cosine >= " << image);
    CHECK(text >= 0.999);
    CHECK(image >= 0.999);
}

TEST_CASE("precision.bf16: LayoutLM token labels are unchanged on the fixture" * doctest::test_suite("unit")) {
    const auto dir = test::data_path("layoutlm-tiny-token-cls");
    const io::safetensors_file ref(dir / "reference.safetensors");
    const layoutlm::model_inputs in{ref.load<std::int64_t, 2>("input.input_ids"), ref.load<std::int64_t, 3>("input.bbox"),
                                    ref.load<std::int64_t, 2>("input.attention_mask"), ref.load<std::int64_t, 2>("input.token_type_ids")};
    const auto f32 = argmax_last(layoutlm::pretrained_model::from_pretrained(dir).token_logits(in));
    const auto half = argmax_last(layoutlm::pretrained_model::from_pretrained(dir, bf16).token_logits(in));
    const auto reference = argmax_last(ref.load<float, 3>("output.logits"));
    CHECK(f32 == reference);
    CHECK(half == reference);
}

TEST_CASE("precision.bf16: the CTC transcript is unchanged on the fixture" * doctest::test_suite("unit")) {
    const auto dir = test::data_path("wav2vec2-tiny-ctc");
    const io::safetensors_file ref(dir / "reference.safetensors");
    const auto audio = ref.load<float, 2>("input.input_values");
    const auto tokenizer = tokenizers::wav2vec2_ctc_tokenizer::from_pretrained(dir);
    const auto f32 = tokenizer.batch_decode(argmax_last(wav2vec2::wav2vec2_model::from_pretrained(dir).forward_ctc(audio).logits));
    const auto half = tokenizer.batch_decode(argmax_last(wav2vec2::wav2vec2_model::from_pretrained(dir, bf16).forward_ctc(audio).logits));
    const auto reference = tokenizer.batch_decode(argmax_last(ref.load<float, 3>("output.logits")));
    CHECK(f32 == reference);
    CHECK(half == reference);
}
