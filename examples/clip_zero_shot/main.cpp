// Zero-shot image classification with CLIP in a few lines: which label fits
// the image best? Usage: clip_zero_shot MODEL_DIR IMAGE LABEL [LABEL...]
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <mmt/mmt.hpp>

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s MODEL_DIR IMAGE LABEL [LABEL...]\n", argv[0]);
        return 2;
    }
    try {
        // config.json, model.safetensors, vocab.json, merges.txt, preprocessor_config.json
        const auto clip = mmt::pipelines::clip_embedder::from_pretrained(argv[1]);
        const mmt::io::rgb_image image = mmt::io::read_image(argv[2]);
        const std::vector<std::string> labels(argv + 3, argv + argc);

        for (const auto& [label, score] : mmt::pipelines::classify_image(clip, image, labels))
            std::printf("%-20s %.3f\n", label.c_str(), score);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "clip_zero_shot: %s\n", e.what());
        return 1;
    }
    return 0;
}
