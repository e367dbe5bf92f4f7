// Wav2Vec2Config (transformers 4.45, models/wav2vec2/configuration_wav2vec2.py):
// member initialisers are HF's defaults, since config.json only holds the values
// that differ from them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/io/json.hpp"
#include "mmt/layers/encoder_layer.hpp"
#include "mmt/models/architecture_table.hpp"
#include "mmt/models/wav2vec2/conv_stack_config.hpp"
#include "mmt/ops/activations.hpp"

namespace mmt::wav2vec2 {

// The heads `architectures` may name.
enum class architecture { model, ctc, pretraining };

inline constexpr architecture_table<architecture, 3> architectures{
    "Wav2Vec2",
    {{{architecture::model, "Wav2Vec2Model"}, {architecture::ctc, "Wav2Vec2ForCTC"}, {architecture::pretraining, "Wav2Vec2ForPreTraining"}}}};

inline const char* architecture_name(architecture a) { return architectures.name(a); }

struct config {
    architecture arch = architecture::model;
    std::size_t vocab_size = 32;
    std::size_t hidden_size = 768;
    std::size_t num_hidden_layers = 12;
    std::size_t num_attention_heads = 12;
    std::size_t intermediate_size = 3072;
    std::string hidden_act = "gelu";
    float layer_norm_eps = 1e-5f;
    std::string feat_extract_norm = "group";
    std::string feat_extract_activation = "gelu";
    std::vector<std::size_t> conv_dim = {512, 512, 512, 512, 512, 512, 512};
    std::vector<std::size_t> conv_stride = {5, 2, 2, 2, 2, 2, 2};
    std::vector<std::size_t> conv_kernel = {10, 3, 3, 3, 3, 2, 2};
    bool conv_bias = false;
    std::size_t num_conv_pos_embeddings = 128;
    std::size_t num_conv_pos_embedding_groups = 16;
    bool do_stable_layer_norm = false;
    // SpecAugment: masked_spec_embed exists when either probability is > 0; inference
    // applies it only to the frames of an explicit mask_time_indices.
    bool apply_spec_augment = true;
    double mask_time_prob = 0.05;
    double mask_feature_prob = 0.0;
    // Gumbel vector quantizer (Wav2Vec2ForPreTraining).
    std::size_t num_codevectors_per_group = 320;
    std::size_t num_codevector_groups = 2;
    std::size_t codevector_dim = 256;
    std::size_t proj_codevector_dim = 256;
    // Training only (the contrastive loss), read so a config is checked whole.
    double contrastive_logits_temperature = 0.1;
    std::size_t num_negatives = 100;
    double diversity_loss_weight = 0.1;
    std::int64_t pad_token_id = 0;  // the CTC blank
    std::int64_t bos_token_id = 1;
    std::int64_t eos_token_id = 2;
    bool add_adapter = false;

    conv_norm feat_extract_norm_kind() const { return feat_extract_norm == "layer" ? conv_norm::layer : conv_norm::group; }
    ops::activation feat_extract_act() const { return ops::parse_activation(feat_extract_activation, "feat_extract_activation"); }
    bool has_masked_spec_embed() const { return mask_time_prob > 0.0 || mask_feature_prob > 0.0; }

    // The feature encoder's own config: the conv stack and nothing of the transformer.
    conv_stack_config conv_stack() const {
        return {conv_dim, conv_kernel, conv_stride, conv_bias, feat_extract_norm_kind(), feat_extract_act()};
    }

    // HF's inputs_to_logits_ratio, _get_feat_extract_output_lengths and the receptive field
    // (conv_stack_config).
    std::int64_t inputs_to_logits_ratio() const { return conv_stack().inputs_to_logits_ratio(); }
    std::int64_t feat_extract_output_length(std::int64_t length) const { return conv_stack().output_length(length); }
    std::size_t min_input_length() const { return conv_stack().min_input_length(); }

    // HF's conversion script sets the feature extractor's return_attention_mask for LayerNorm
    // conv stacks (large-lv60) and not for GroupNorm ones (base), whose GroupNorm over time
    // would see the padding whatever the mask says.
    bool takes_attention_mask() const { return feat_extract_norm_kind() == conv_norm::layer; }

    layers::encoder_layer_config layer_config() const {
        return {hidden_size, intermediate_size, num_attention_heads, ops::parse_activation(hidden_act, "hidden_act"), layer_norm_eps,
                do_stable_layer_norm ? layers::norm_position::pre : layers::norm_position::post};
    }

    static config from_json(const io::json& j, const std::string& where) {
        config c;
        std::string model_type = "wav2vec2";
        io::json_optional(j, "model_type", model_type, where);
        if (model_type != "wav2vec2")
            fail<config_error>(where, ": key \"model_type\": expected \"wav2vec2\", got \"", model_type, "\"");
        c.arch = architectures.read(j, where, architecture::model);

        io::json_optional(j, "vocab_size", c.vocab_size, where);
        io::json_optional(j, "hidden_size", c.hidden_size, where);
        io::json_optional(j, "num_hidden_layers", c.num_hidden_layers, where);
        io::json_optional(j, "num_attention_heads", c.num_attention_heads, where);
        io::json_optional(j, "intermediate_size", c.intermediate_size, where);
        io::json_optional(j, "hidden_act", c.hidden_act, where);
        io::json_optional(j, "layer_norm_eps", c.layer_norm_eps, where);
        io::json_optional(j, "feat_extract_norm", c.feat_extract_norm, where);
        io::json_optional(j, "feat_extract_activation", c.feat_extract_activation, where);
        io::json_optional(j, "conv_dim", c.conv_dim, where);
        io::json_optional(j, "conv_stride", c.conv_stride, where);
        io::json_optional(j, "conv_kernel", c.conv_kernel, where);
        io::json_optional(j, "conv_bias", c.conv_bias, where);
        io::json_optional(j, "num_conv_pos_embeddings", c.num_conv_pos_embeddings, where);
        io::json_optional(j, "num_conv_pos_embedding_groups", c.num_conv_pos_embedding_groups, where);
        io::json_optional(j, "do_stable_layer_norm", c.do_stable_layer_norm, where);
        io::json_optional(j, "apply_spec_augment", c.apply_spec_augment, where);
        io::json_optional(j, "mask_time_prob", c.mask_time_prob, where);
        io::json_optional(j, "mask_feature_prob", c.mask_feature_prob, where);
        io::json_optional(j, "num_codevectors_per_group", c.num_codevectors_per_group, where);
        io::json_optional(j, "num_codevector_groups", c.num_codevector_groups, where);
        io::json_optional(j, "codevector_dim", c.codevector_dim, where);
        io::json_optional(j, "proj_codevector_dim", c.proj_codevector_dim, where);
        io::json_optional(j, "contrastive_logits_temperature", c.contrastive_logits_temperature, where);
        io::json_optional(j, "num_negatives", c.num_negatives, where);
        io::json_optional(j, "diversity_loss_weight", c.diversity_loss_weight, where);
        io::json_optional(j, "pad_token_id", c.pad_token_id, where);
        io::json_optional(j, "bos_token_id", c.bos_token_id, where);
        io::json_optional(j, "eos_token_id", c.eos_token_id, where);
        io::json_optional(j, "add_adapter", c.add_adapter, where);
        // num_feat_extract_layers is not read: HF sets it to len(conv_dim) whatever the file says.
        c.validate(j, where);
        return c;
    }

    static config from_file(const std::filesystem::path& path) { return from_json(io::read_json_file(path), path.string()); }

private:
    void validate(const io::json& j, const std::string& where) const {
        auto positive = [&](const char* key, std::size_t value) {
            if (value == 0) fail<config_error>(where, ": key \"", key, "\" must be at least 1, got 0");
        };
        if (conv_dim.empty() || conv_stride.size() != conv_dim.size() || conv_kernel.size() != conv_dim.size())
            fail<config_error>(where, ": keys \"conv_dim\", \"conv_stride\", \"conv_kernel\" must have one equal, non-zero length; got ",
                               conv_dim.size(), ", ", conv_stride.size(), " and ", conv_kernel.size(), " entries");
        for (std::size_t i = 0; i < conv_dim.size(); ++i) {
            if (conv_dim[i] == 0 || conv_stride[i] == 0 || conv_kernel[i] == 0)
                fail<config_error>(where, ": conv layer ", i, " has conv_dim ", conv_dim[i], ", conv_stride ", conv_stride[i],
                                   ", conv_kernel ", conv_kernel[i], "; expected all at least 1");
        }
        if (feat_extract_norm != "group" && feat_extract_norm != "layer")
            fail<config_error>(where, ": key \"feat_extract_norm\": unknown value \"", feat_extract_norm, "\", expected \"group\" or \"layer\"");
        ops::parse_activation(feat_extract_activation, where + ": key \"feat_extract_activation\"");
        ops::parse_activation(hidden_act, where + ": key \"hidden_act\"");
        positive("hidden_size", hidden_size);
        positive("num_attention_heads", num_attention_heads);
        if (hidden_size % num_attention_heads != 0)
            fail<config_error>(where, ": key \"num_attention_heads\": hidden_size ", hidden_size, " is not divisible by ",
                               num_attention_heads, " heads");
        positive("num_conv_pos_embeddings", num_conv_pos_embeddings);
        positive("num_conv_pos_embedding_groups", num_conv_pos_embedding_groups);
        if (hidden_size % num_conv_pos_embedding_groups != 0)
            fail<config_error>(where, ": key \"num_conv_pos_embedding_groups\": hidden_size ", hidden_size,
                               " is not divisible into ", num_conv_pos_embedding_groups, " groups");
        if (!(layer_norm_eps > 0.0f)) fail<config_error>(where, ": key \"layer_norm_eps\" must be positive, got ", layer_norm_eps);
        if (arch == architecture::ctc) positive("vocab_size", vocab_size);
        if (arch == architecture::pretraining) {
            positive("num_codevector_groups", num_codevector_groups);
            positive("num_codevectors_per_group", num_codevectors_per_group);
            positive("proj_codevector_dim", proj_codevector_dim);
            if (codevector_dim == 0 || codevector_dim % num_codevector_groups != 0)
                fail<config_error>(where, ": key \"codevector_dim\": ", codevector_dim, " must be a positive multiple of num_codevector_groups ",
                                   num_codevector_groups);
        }
        if (add_adapter)
            fail<config_error>(where, ": key \"add_adapter\": the convolutional adapter (Wav2Vec2Adapter) is not supported; expected false");
        if (j.contains("adapter_attn_dim") && !j["adapter_attn_dim"].is_null())
            fail<config_error>(where, ": key \"adapter_attn_dim\": attention adapters (MMS) are not supported; expected null, got ",
                               j["adapter_attn_dim"].dump());
    }
};

}  // namespace mmt::wav2vec2
