// A document model with the image processor its checkpoint ships, if any
// (preprocessor_config.json: LayoutLMv3's), which makes a page image the
// ocr_document's pixel_values, as HF's LayoutLMv3Processor does. What the document
// commands of `mmt`, its worker and server, and the C API load.
//
//   const auto pipeline = pipelines::document_pipeline::from_pretrained(dir);
//   auto doc = pipelines::ocr_document::from_file("page.json");
//   pipeline.add_page(doc, io::read_image("page.png", pipeline.page_limits()), "page.png");
//   const auto tags = pipeline.model().tag(doc);
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/core/load_options.hpp"
#include "mmt/io/image.hpp"
#include "mmt/pipelines/document_tagging.hpp"
#include "mmt/preprocess/image.hpp"

namespace mmt::pipelines {

class document_pipeline {
public:
    // document_model::from_pretrained, and the image processor when `dir` has a preprocessor_config.json.
    static document_pipeline from_pretrained(const std::filesystem::path& dir, mmt::load_options options = {}) {
        std::optional<preprocess::clip_image_processor> processor;
        if (std::filesystem::exists(dir / "preprocessor_config.json")) processor.emplace(preprocess::clip_image_processor::from_pretrained(dir));
        return {document_model::from_pretrained(dir, options), std::move(processor)};
    }

    document_pipeline(document_model model, std::optional<preprocess::clip_image_processor> processor)
        : model_(std::move(model)), processor_(std::move(processor)) {}

    const document_model& model() const { return model_; }
    bool reads_page_image() const { return processor_.has_value(); }

    // Limits to decode a page image with: the processor's, so that a page it could not
    // resize is refused from its header, before its pixels are decoded.
    io::image_limits page_limits() const { return processor_ ? processor_->image_limits() : io::image_limits{}; }

    // The page as the model's pixel values in `doc`; input_error naming `where` when the
    // checkpoint reads no page image.
    void add_page(ocr_document& doc, const io::rgb_image& page, const std::string& where) const {
        if (!processor_) fail<input_error>(where, ": a page image, but this checkpoint has no preprocessor_config.json and reads none");
        doc.pixel_values = processor_->preprocess(std::vector<io::rgb_image>{page});
    }

private:
    document_model model_;
    std::optional<preprocess::clip_image_processor> processor_;
};

}  // namespace mmt::pipelines
