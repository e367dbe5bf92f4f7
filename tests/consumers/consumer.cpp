// A program outside the project: loads clip-tiny and checks one output against
// HF's, so a consumer build that links but computes nonsense fails too.
#include <cmath>
#include <cstdio>

#include <mmt/mmt.hpp>

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: consumer CLIP_TINY_DIR\n");
        return 2;
    }
    const std::filesystem::path dir = argv[1];
    const auto model = mmt::clip::clip_model::from_pretrained(dir);
    const mmt::io::safetensors_file ref(dir / "reference.safetensors");
    const auto embeds = model.get_image_features(ref.load<float, 4>("input.pixel_values"));
    const auto expected = ref.load<float>("output.image_embeds");
    const auto normalised = mmt::clip::l2_normalize(embeds);
    double worst = 0;
    for (std::size_t i = 0; i < expected.size(); ++i) worst = std::fmax(worst, std::fabs(normalised.flat(i) - expected.flat(i)));
    std::printf("image_embeds max abs error %.3g\n", worst);
    return worst <= 1e-4 ? 0 : 1;
}
