// A page of OCR output (words, their pixel boxes, the page size and, for the models
// that read it, the page image) and its boxes on LayoutLM's 0..1000 grid: what every
// document pipeline reads (document_tagging.hpp), apart from the models.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/json.hpp"
#include "mmt/tokenizers/layoutlm_words.hpp"

namespace mmt::pipelines {

// A page of OCR output: words and their boxes (x0, y0, x1, y1) in pixels, and, for
// the models that read it (LayoutLMv3), the page image as the checkpoint's image
// processor makes it: preprocess::clip_image_processor::from_pretrained(dir)
// .preprocess({io::read_image(file)}), as `mmt tag-document --image` does.
struct ocr_document {
    double width = 0;
    double height = 0;
    std::vector<std::string> words;
    std::vector<std::array<double, 4>> boxes;
    tensor<4> pixel_values{};  // [1, num_channels, H, W], or empty for none

    // {"width": W, "height": H, "words": [{"text": "...", "box": [x0, y0, x1, y1]}, ...]}
    static ocr_document from_json(const io::json& j, const std::string& where) {
        if (!j.is_object()) fail<input_error>(where, ": expected a JSON object with width, height and words, got ", j.type_name());
        ocr_document doc;
        doc.width = number(j, "width", where);
        doc.height = number(j, "height", where);
        auto words = j.find("words");
        if (words == j.end() || !words->is_array()) fail<input_error>(where, ": expected \"words\": [{\"text\": ..., \"box\": [x0, y0, x1, y1]}, ...]");
        for (std::size_t i = 0; i < words->size(); ++i) {
            const io::json& w = (*words)[i];
            const std::string at = where + ": word " + std::to_string(i);
            if (!w.is_object() || !w.contains("text") || !w["text"].is_string())
                fail<input_error>(at, ": expected {\"text\": \"...\", \"box\": [x0, y0, x1, y1]}, got ", w.dump());
            const io::json& box = w.contains("box") ? w["box"] : io::json();
            if (!box.is_array() || box.size() != 4 || !std::all_of(box.begin(), box.end(), [](const io::json& v) { return v.is_number(); }))
                fail<input_error>(at, " (\"", w["text"].get<std::string>(), "\"): expected \"box\": [x0, y0, x1, y1] in pixels, got ",
                                  box.dump());
            doc.words.push_back(w["text"].get<std::string>());
            doc.boxes.push_back({box[0].get<double>(), box[1].get<double>(), box[2].get<double>(), box[3].get<double>()});
        }
        return doc;
    }

    // A document of more than `max_words` words (an array of more elements anywhere in
    // the file) is refused while it is parsed.
    static ocr_document from_file(const std::filesystem::path& path,
                                  std::size_t max_words = tokenizers::boxed_options{}.max_words) {
        return from_json(io::read_json_file(path, words_file_limits(max_words)), path.string());
    }

    // The parse limits of a JSON file of one document's words (this one, or the words
    // and boxes `mmt tokenize --words-json` reads): no array of more than `max_words`.
    static io::json_limits words_file_limits(std::size_t max_words) {
        io::json_limits limits;
        limits.max_array_elements = max_words;
        limits.setting = "boxed_options::max_words";
        return limits;
    }

private:
    static double number(const io::json& j, const char* key, const std::string& where) {
        auto it = j.find(key);
        if (it == j.end() || !it->is_number()) fail<input_error>(where, ": expected a number \"", key, "\" (the page size in pixels)");
        return it->get<double>();
    }
};

// The word's boxes on the 0..1000 grid. input_error naming the word for a box with
// x1 < x0 or y1 < y0, or outside the page (0..1000 after normalisation) unless
// `clamp_boxes`; also for an empty document, a page without a positive size and
// words and boxes of different counts.
inline std::vector<tokenizers::word_box> normalize_boxes(const ocr_document& doc, bool clamp_boxes) {
    if (!(doc.width > 0) || !(doc.height > 0) || !std::isfinite(doc.width) || !std::isfinite(doc.height))
        fail<input_error>("document: page size ", doc.width, " x ", doc.height, " pixels; expected a positive width and height");
    if (doc.words.size() != doc.boxes.size())
        fail<input_error>("document: ", doc.words.size(), " words but ", doc.boxes.size(), " boxes; expected one box per word");
    if (doc.words.empty()) fail<input_error>("document: no words; expected at least one");
    static constexpr const char* names[] = {"x0", "y0", "x1", "y1"};
    std::vector<tokenizers::word_box> out;
    out.reserve(doc.words.size());
    for (std::size_t i = 0; i < doc.words.size(); ++i) {
        const auto& b = doc.boxes[i];
        const std::string word = "document: word " + std::to_string(i) + " (\"" + doc.words[i] + "\")";
        for (std::size_t k = 0; k < 4; ++k)
            if (!std::isfinite(b[k]) || std::fabs(b[k]) > 1e12) fail<input_error>(word, ": ", names[k], " = ", b[k], " is not a pixel coordinate");
        if (b[2] < b[0] || b[3] < b[1])
            fail<input_error>(word, ": box [", b[0], ", ", b[1], ", ", b[2], ", ", b[3], "] has ", b[2] < b[0] ? "x1 < x0" : "y1 < y0",
                              "; expected x0 <= x1 and y0 <= y1");
        tokenizers::word_box n = tokenizers::normalize_box(b, doc.width, doc.height);
        for (std::size_t k = 0; k < 4; ++k) {
            if (clamp_boxes) n[k] = std::clamp<std::int64_t>(n[k], 0, 1000);
            if (n[k] < 0 || n[k] > 1000)
                fail<input_error>(word, ": box [", b[0], ", ", b[1], ", ", b[2], ", ", b[3], "] on a ", doc.width, " x ", doc.height,
                                  " page normalises to ", names[k], " = ", n[k], ", outside 0..1000; expected a box on the page "
                                  "(or clamp_boxes / --clamp-boxes)");
        }
        out.push_back(n);
    }
    return out;
}

}  // namespace mmt::pipelines
