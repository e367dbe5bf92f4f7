// LayoutLMv3Config (transformers 4.45, models/layoutlmv3/configuration_layoutlmv3.py)
// plus the PretrainedConfig keys the heads read (id2label, num_labels). Member
// initialisers are HF's defaults, since config.json only holds what differs.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <tuple>
#include <utility>

#include "mmt/core/error.hpp"
#include "mmt/io/json.hpp"
#include "mmt/layers/vit_embeddings.hpp"
#include "mmt/models/architecture_table.hpp"
#include "mmt/models/bert_config.hpp"
#include "mmt/models/labels.hpp"

namespace mmt::layoutlmv3 {

// The four LayoutLMv3 heads HF's `architectures` names.
enum class architecture { model, token_classification, sequence_classification, question_answering };

inline constexpr architecture_table<architecture, 4> architectures{
    "LayoutLMv3",
    {{{architecture::model, "LayoutLMv3Model"},
      {architecture::token_classification, "LayoutLMv3ForTokenClassification"},
      {architecture::sequence_classification, "LayoutLMv3ForSequenceClassification"},
      {architecture::question_answering, "LayoutLMv3ForQuestionAnswering"}}}};

inline const char* architecture_name(architecture a) { return architectures.name(a); }

// id2label, label2id, num_labels(), label_of(): models/labels.hpp. BertConfig's
// keys: models/bert_config.hpp.
struct config : label_config, bert_config {
    architecture arch = architecture::model;
    std::size_t max_2d_position_embeddings = 1024;
    std::size_t coordinate_size = 128;  // width of each of x0, y0, x1, y1's embedding
    std::size_t shape_size = 128;       // width of the height's and the width's
    bool has_relative_attention_bias = true;
    std::size_t rel_pos_bins = 32;
    std::size_t max_rel_pos = 128;
    bool has_spatial_attention_bias = true;
    std::size_t rel_2d_pos_bins = 64;
    std::size_t max_rel_2d_pos = 256;
    bool text_embed = true;
    bool visual_embed = true;
    std::size_t input_size = 224;  // the page image is input_size x input_size
    std::size_t num_channels = 3;
    std::size_t patch_size = 16;

    config() {  // LayoutLMv3Config's defaults where they differ from BertConfig's
        vocab_size = 50265;
        layer_norm_eps = 1e-5f;
        pad_token_id = 1;  // RoBERTa's padding_idx: positions count from it
    }

    static config from_json(const io::json& j, const std::string& where) {
        config c;
        std::string model_type = "layoutlmv3";
        io::json_optional(j, "model_type", model_type, where);
        if (model_type != "layoutlmv3")
            fail<config_error>(where, ": model_type \"", model_type, "\" is not LayoutLMv3 (expected \"layoutlmv3\")");
        c.arch = architectures.read(j, where, architecture::model);
        c.read_bert_keys(j, where);
        for (auto [key, value] : {std::pair<const char*, std::size_t*>{"max_2d_position_embeddings", &c.max_2d_position_embeddings},
                                  {"coordinate_size", &c.coordinate_size},
                                  {"shape_size", &c.shape_size},
                                  {"rel_pos_bins", &c.rel_pos_bins},
                                  {"max_rel_pos", &c.max_rel_pos},
                                  {"rel_2d_pos_bins", &c.rel_2d_pos_bins},
                                  {"max_rel_2d_pos", &c.max_rel_2d_pos},
                                  {"input_size", &c.input_size},
                                  {"num_channels", &c.num_channels},
                                  {"patch_size", &c.patch_size}})
            io::json_optional(j, key, *value, where);
        for (auto [key, value] : {std::pair<const char*, bool*>{"has_relative_attention_bias", &c.has_relative_attention_bias},
                                  {"has_spatial_attention_bias", &c.has_spatial_attention_bias},
                                  {"text_embed", &c.text_embed},
                                  {"visual_embed", &c.visual_embed}})
            io::json_optional(j, key, *value, where);
        c.read_labels(j, where);
        c.validate(where);
        return c;
    }

    static config from_file(const std::filesystem::path& path) { return from_json(io::read_json_file(path), path.string()); }

    // The visual tokens: patch Conv2d with bias, a class token, positions, then `norm` (eps 1e-6).
    layers::vit_embeddings_config visual_embeddings() const {
        layers::vit_embeddings_config v{hidden_size, num_channels, input_size, patch_size};
        v.class_token = true;
        v.patch_bias = true;
        v.pre_norm = true;
        v.layer_norm_eps = 1e-6f;
        return v;
    }

private:
    void validate(const std::string& where) const {
        for (const auto& [key, value] : {std::pair<const char*, std::size_t>{"max_2d_position_embeddings", max_2d_position_embeddings},
                                         {"rel_pos_bins", rel_pos_bins},
                                         {"rel_2d_pos_bins", rel_2d_pos_bins}})
            if (value == 0) fail<config_error>(where, ": \"", key, "\" is 0, expected at least 1");
        if (!text_embed)
            fail<config_error>(where, ": \"text_embed\" is false; mmt runs LayoutLMv3 on words (an image-only model is not supported)");
        if (4 * coordinate_size + 2 * shape_size != hidden_size)
            fail<config_error>(where, ": 4 * coordinate_size (", coordinate_size, ") + 2 * shape_size (", shape_size,
                               ") must equal hidden_size ", hidden_size, ": the spatial embedding is added to the text embedding");
        if (visual_embed && (patch_size == 0 || input_size % patch_size != 0))
            fail<config_error>(where, ": input_size ", input_size, " is not a multiple of patch_size ", patch_size);
        // T5's bucketing splits the bins by sign, then in half (exact and logarithmic).
        for (const auto& [bins, distance, name] : {std::tuple{rel_pos_bins, max_rel_pos, "rel_pos_bins"},
                                                   std::tuple{rel_2d_pos_bins, max_rel_2d_pos, "rel_2d_pos_bins"}})
            if (bins < 4 || distance <= bins / 4)
                fail<config_error>(where, ": \"", name, "\" is ", bins, " with a maximum distance of ", distance,
                                   "; expected at least 4 bins and a distance above bins / 4");
        if (arch == architecture::question_answering && num_labels() != 2)
            fail<config_error>(where, ": LayoutLMv3ForQuestionAnswering splits its ", num_labels(),
                               " outputs into start and end logits; expected num_labels (id2label) of 2");
    }
};

}  // namespace mmt::layoutlmv3
