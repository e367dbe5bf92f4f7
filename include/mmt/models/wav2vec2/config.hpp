// Wav2Vec2Config and the configs of the models HF writes as separate classes over
// the same design (transformers 4.45: HubertConfig, WavLMConfig,
// Data2VecAudioConfig): a strided conv feature encoder, a feature projection, a
// positional convolution and a transformer encoder. Member initialisers are HF's
// defaults, since config.json only holds the values that differ from them.
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
#include "mmt/models/labels.hpp"
#include "mmt/models/wav2vec2/conv_stack_config.hpp"
#include "mmt/ops/activations.hpp"

namespace mmt::wav2vec2 {

// Which of the wav2vec2-like models a config.json describes (its model_type). What
// differs: HuBERT's feature projection may skip its LayerNorm and returns no
// extract_features; WavLM adds a gated relative position bias to the attention;
// Data2VecAudio has a LayerNorm after every conv and a stack of positional convs
// without weight norm.
enum class variant { wav2vec2, hubert, wavlm, data2vec_audio };

// The heads `architectures` may name; pretraining is Wav2Vec2's alone.
enum class architecture { model, ctc, pretraining, sequence_classification };

inline constexpr architecture_table<architecture, 4> wav2vec2_architectures{
    "Wav2Vec2",
    {{{architecture::model, "Wav2Vec2Model"},
      {architecture::ctc, "Wav2Vec2ForCTC"},
      {architecture::pretraining, "Wav2Vec2ForPreTraining"},
      {architecture::sequence_classification, "Wav2Vec2ForSequenceClassification"}}}};
inline constexpr architecture_table<architecture, 3> hubert_architectures{
    "HuBERT",
    {{{architecture::model, "HubertModel"},
      {architecture::ctc, "HubertForCTC"},
      {architecture::sequence_classification, "HubertForSequenceClassification"}}}};
inline constexpr architecture_table<architecture, 3> wavlm_architectures{
    "WavLM",
    {{{architecture::model, "WavLMModel"},
      {architecture::ctc, "WavLMForCTC"},
      {architecture::sequence_classification, "WavLMForSequenceClassification"}}}};
inline constexpr architecture_table<architecture, 3> data2vec_audio_architectures{
    "Data2VecAudio",
    {{{architecture::model, "Data2VecAudioModel"},
      {architecture::ctc, "Data2VecAudioForCTC"},
      {architecture::sequence_classification, "Data2VecAudioForSequenceClassification"}}}};

// fn(the variant's architecture table).
template <class Fn>
decltype(auto) with_architectures(variant v, Fn&& fn) {
    switch (v) {
        case variant::hubert: return fn(hubert_architectures);
        case variant::wavlm: return fn(wavlm_architectures);
        case variant::data2vec_audio: return fn(data2vec_audio_architectures);
        case variant::wav2vec2: break;
    }
    return fn(wav2vec2_architectures);
}

inline const char* architecture_name(variant v, architecture a) {
    return with_architectures(v, [&](const auto& table) { return table.name(a); });
}

// config.json's model_type for each variant, and HF's base_model_prefix: the head
// models keep the body under it.
struct variant_names {
    variant kind;
    const char* model_type;
    const char* base_model_prefix;
};
inline constexpr variant_names variants[] = {{variant::wav2vec2, "wav2vec2", "wav2vec2"},
                                             {variant::hubert, "hubert", "hubert"},
                                             {variant::wavlm, "wavlm", "wavlm"},
                                             {variant::data2vec_audio, "data2vec-audio", "data2vec_audio"}};

inline const variant_names& names_of(variant v) {
    for (const auto& n : variants)
        if (n.kind == v) return n;
    return variants[0];
}

// id2label, label2id, num_labels(): models/labels.hpp (the sequence-classification heads).
struct config : label_config {
    variant kind = variant::wav2vec2;
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
    // MMS: a bottleneck adapter after every stable encoder layer (Wav2Vec2AttnAdapterLayer);
    // 0 for none (HF's None).
    std::size_t adapter_attn_dim = 0;
    // Sequence classification: projector (hidden_size -> classifier_proj_size) on every
    // frame, mean over the valid frames, classifier; with use_weighted_layer_sum the
    // projector reads a softmax-weighted sum of every encoder state instead of the last.
    std::size_t classifier_proj_size = 256;
    bool use_weighted_layer_sum = false;
    // HuBERT: false skips the feature projection's LayerNorm.
    bool feat_proj_layer_norm = true;
    // WavLM's relative position buckets.
    std::size_t num_buckets = 320;
    std::size_t max_bucket_distance = 800;
    // Data2VecAudio: num_conv_pos_embeddings is the number of positional convs (default 5),
    // each of kernel conv_pos_kernel_size.
    std::size_t conv_pos_kernel_size = 19;

    const char* architecture_name() const { return wav2vec2::architecture_name(kind, arch); }
    const char* base_model_prefix() const { return names_of(kind).base_model_prefix; }
    // HuBERT returns no extract_features, and without feat_proj_layer_norm it has no LayerNorm to take them from.
    bool has_extract_features() const { return kind != variant::hubert; }
    bool has_feature_projection_norm() const { return kind != variant::hubert || feat_proj_layer_norm; }
    // Wav2Vec2 puts the MMS adapters in its stable layers only (Wav2Vec2EncoderLayerStableLayerNorm).
    bool has_adapters() const { return kind == variant::wav2vec2 && do_stable_layer_norm && adapter_attn_dim > 0; }
    // The positional conv: Data2VecAudio's stack of num_conv_pos_embeddings convs or one
    // weight-normed conv of kernel num_conv_pos_embeddings.
    std::size_t positional_conv_layers() const { return kind == variant::data2vec_audio ? num_conv_pos_embeddings : 1; }
    std::size_t positional_conv_kernel() const {
        return kind == variant::data2vec_audio ? conv_pos_kernel_size : num_conv_pos_embeddings;
    }

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
        return {hidden_size,
                intermediate_size,
                num_attention_heads,
                ops::parse_activation(hidden_act, "hidden_act"),
                layer_norm_eps,
                do_stable_layer_norm ? layers::norm_position::pre : layers::norm_position::post,
                has_adapters() ? adapter_attn_dim : 0};
    }

    static config from_json(const io::json& j, const std::string& where) {
        config c;
        std::string model_type = "wav2vec2";
        io::json_optional(j, "model_type", model_type, where);
        c.kind = parse_variant(model_type, where);
        c.arch = with_architectures(c.kind, [&](const auto& table) { return table.read(j, where, architecture::model); });
        if (c.kind == variant::data2vec_audio) c.num_conv_pos_embeddings = 5;  // Data2VecAudioConfig's default

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
        if (j.contains("adapter_attn_dim") && !j["adapter_attn_dim"].is_null())
            c.adapter_attn_dim = io::json_required<std::size_t>(j, "adapter_attn_dim", where);
        io::json_optional(j, "classifier_proj_size", c.classifier_proj_size, where);
        io::json_optional(j, "use_weighted_layer_sum", c.use_weighted_layer_sum, where);
        if (c.kind == variant::hubert) io::json_optional(j, "feat_proj_layer_norm", c.feat_proj_layer_norm, where);
        if (c.kind == variant::wavlm) {
            io::json_optional(j, "num_buckets", c.num_buckets, where);
            io::json_optional(j, "max_bucket_distance", c.max_bucket_distance, where);
        }
        if (c.kind == variant::data2vec_audio) {  // Data2VecAudioConfig has neither: LayerNorm convs, post-norm layers
            io::json_optional(j, "conv_pos_kernel_size", c.conv_pos_kernel_size, where);
            c.feat_extract_norm = "layer";
            c.do_stable_layer_norm = false;
        }
        c.read_labels(j, where);
        // num_feat_extract_layers is not read: HF sets it to len(conv_dim) whatever the file says.
        c.validate(where);
        return c;
    }

    static config from_file(const std::filesystem::path& path) { return from_json(io::read_json_file(path), path.string()); }

private:
    static variant parse_variant(const std::string& model_type, const std::string& where) {
        std::vector<const char*> known;
        for (const auto& v : variants) {
            if (model_type == v.model_type) return v.kind;
            known.push_back(v.model_type);
        }
        fail<config_error>(where, ": key \"model_type\": expected ", or_list(known), ", got \"", model_type, "\"");
    }

    void validate(const std::string& where) const {
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
        if (kind == variant::data2vec_audio) positive("conv_pos_kernel_size", conv_pos_kernel_size);
        positive("num_conv_pos_embedding_groups", num_conv_pos_embedding_groups);
        if (hidden_size % num_conv_pos_embedding_groups != 0)
            fail<config_error>(where, ": key \"num_conv_pos_embedding_groups\": hidden_size ", hidden_size,
                               " is not divisible into ", num_conv_pos_embedding_groups, " groups");
        if (arch == architecture::ctc) positive("vocab_size", vocab_size);
        if (arch == architecture::pretraining) {
            positive("num_codevector_groups", num_codevector_groups);
            positive("num_codevectors_per_group", num_codevectors_per_group);
            positive("proj_codevector_dim", proj_codevector_dim);
            if (codevector_dim == 0 || codevector_dim % num_codevector_groups != 0)
                fail<config_error>(where, ": key \"codevector_dim\": ", codevector_dim, " must be a positive multiple of num_codevector_groups ",
                                   num_codevector_groups);
        }
        if (arch == architecture::sequence_classification) positive("classifier_proj_size", classifier_proj_size);
        if (kind == variant::wavlm && (num_buckets < 4 || max_bucket_distance <= num_buckets / 4))
            fail<config_error>(where, ": keys \"num_buckets\" ", num_buckets, " and \"max_bucket_distance\" ", max_bucket_distance,
                               ": expected num_buckets >= 4 and max_bucket_distance > num_buckets / 4 (the exact buckets)");
        if (add_adapter)
            fail<config_error>(where, ": key \"add_adapter\": the convolutional adapter (Wav2Vec2Adapter) is not supported; expected false");
    }
};

}  // namespace mmt::wav2vec2
