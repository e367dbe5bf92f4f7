// Label every word of an OCR'd page with LayoutLM, from the words and their boxes.
// Usage: layoutlm_tag_document MODEL_DIR OCR.json
#include <cstdio>
#include <exception>

#include <mmt/mmt.hpp>

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s MODEL_DIR OCR.json\n", argv[0]);
        return 2;
    }
    try {
        // config.json (with id2label), model.safetensors, vocab.txt, tokenizer_config.json
        const auto model = mmt::pipelines::document_model::from_pretrained(argv[1]);
        // {"width": W, "height": H, "words": [{"text": "...", "box": [x0, y0, x1, y1]}, ...]} in pixels
        const auto page = mmt::pipelines::ocr_document::from_file(argv[2]);

        // Pages longer than the model's window are cut into overlapping windows and
        // the predictions merged back: every word gets exactly one label.
        const mmt::pipelines::document_options options;
        std::printf("%zu words in %zu windows of at most %zu tokens\n", page.words.size(), model.windows(page, options).size(),
                    model.max_length(options));
        for (const auto& word : model.tag(page, options))
            std::printf("%-14s %-10s %.2f  [%lld, %lld, %lld, %lld]\n", word.text.c_str(), word.label.c_str(), word.score,
                        static_cast<long long>(word.box[0]), static_cast<long long>(word.box[1]),
                        static_cast<long long>(word.box[2]), static_cast<long long>(word.box[3]));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "layoutlm_tag_document: %s\n", e.what());
        return 1;
    }
    return 0;
}
