// A document model with the image processor its checkpoint ships, if any: how the
// worker and the server read a document request's page image.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "commands.hpp"
#include "mmt/core/error.hpp"
#include "mmt/io/image.hpp"
#include "mmt/pipelines/document_tagging.hpp"
#include "mmt/preprocess/image.hpp"

namespace mmt::cli {

class document_pipeline {
public:
    explicit document_pipeline(const std::filesystem::path& dir) : model_(pipelines::document_model::from_pretrained(dir, model_options())) {
        if (std::filesystem::exists(dir / "preprocessor_config.json")) processor_.emplace(preprocess::clip_image_processor::from_pretrained(dir));
    }

    const pipelines::document_model& model() const { return model_; }

    // The page as the model's pixel values in `doc`; input_error naming `where` when the
    // checkpoint reads no page image.
    void add_page(pipelines::ocr_document& doc, const io::rgb_image& page, const std::string& where) const {
        if (!processor_) fail<input_error>(where, ": a page image, but this checkpoint has no preprocessor_config.json and reads none");
        doc.pixel_values = processor_->preprocess(std::vector<io::rgb_image>{page});
    }

private:
    pipelines::document_model model_;
    std::optional<preprocess::clip_image_processor> processor_;
};

}  // namespace mmt::cli
