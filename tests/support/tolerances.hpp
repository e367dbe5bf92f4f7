// Every tolerance the tests use, in one place. These come from the fixtures'
// README and are never loosened to make a test pass.
#pragma once

namespace mmt::test::tol {

// Hidden states, logits, embeddings of the float32 models (values of order 1).
inline constexpr double model_abs = 1e-4;
// CLIPImageProcessor pixel values from PNG with PIL's resampling.
inline constexpr double pixels_abs = 1e-5;
// torchaudio resampling and feature-extractor normalisation.
inline constexpr double audio_abs = 1e-5;
// An op against its double-precision naive twin (float32 accumulation error).
inline constexpr double op_abs = 1e-5;
inline constexpr double op_rel = 1e-4;
// Rounding a float to bf16 (8 significant bits, to nearest) moves it by at most 2^-9 of itself.
inline constexpr double bf16_rel = 1.0 / 512;

}  // namespace mmt::test::tol
