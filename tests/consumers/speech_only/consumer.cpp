// Speech without the image codecs: loads wav2vec2-tiny-ctc, checks its logits
// against HF's and decodes them, including only what a speech program needs.
#include <cmath>
#include <cstdio>
#include <filesystem>

#include <mmt/io/safetensors.hpp>
#include <mmt/models/wav2vec2/wav2vec2_model.hpp>
#include <mmt/tokenizers/ctc_decode.hpp>

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: consumer WAV2VEC2_TINY_CTC_DIR\n");
        return 2;
    }
    const std::filesystem::path dir = argv[1];
    const auto model = mmt::wav2vec2::wav2vec2_model::from_pretrained(dir);
    const mmt::io::safetensors_file ref(dir / "reference.safetensors");
    const auto logits = model.forward_ctc(ref.load<float, 2>("input.input_values")).logits;
    const auto expected = ref.load<float>("output.logits");
    double worst = 0;
    for (std::size_t i = 0; i < expected.size(); ++i) worst = std::fmax(worst, std::fabs(logits.flat(i) - expected.flat(i)));
    std::printf("logits max abs error %.3g\n", worst);
    const auto tokenizer = mmt::tokenizers::wav2vec2_ctc_tokenizer::from_pretrained(dir);
    const mmt::tensor<2> first = xt::view(logits, 0);  // [frames, vocab]
    std::printf("transcript of the first clip: \"%s\"\n", tokenizer.decode(mmt::tokenizers::ctc_argmax(first)).c_str());
    return worst <= 1e-4 ? 0 : 1;
}
