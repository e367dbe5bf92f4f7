// Wav2Vec2Model, Wav2Vec2ForCTC, Wav2Vec2ForSequenceClassification and
// Wav2Vec2ForPreTraining (transformers 4.45, models/wav2vec2/modeling_wav2vec2.py),
// and the same heads over HuBERT, WavLM and Data2VecAudio (modeling_hubert.py,
// modeling_wavlm.py, modeling_data2vec_audio.py: config.hpp's variants), chosen by
// config.json's model_type and `architectures`. Loaded once (load_adapter before
// sharing), then const: forward may be called from many threads at once.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/layers/linear.hpp"
#include "mmt/io/checkpoint.hpp"
#include "mmt/models/interfaces/audio_sequence_classifier.hpp"
#include "mmt/models/interfaces/ctc_speech_encoder.hpp"
#include "mmt/models/pretrained.hpp"
#include "mmt/models/wav2vec2/config.hpp"
#include "mmt/models/wav2vec2/ctc_head.hpp"
#include "mmt/models/wav2vec2/encoder.hpp"
#include "mmt/models/wav2vec2/feature_encoder.hpp"
#include "mmt/models/wav2vec2/feature_projection.hpp"
#include "mmt/models/wav2vec2/names.hpp"
#include "mmt/models/wav2vec2/outputs.hpp"
#include "mmt/models/wav2vec2/quantizer.hpp"
#include "mmt/models/wav2vec2/sequence_classification_head.hpp"

namespace mmt::wav2vec2 {

// Implements interfaces::ctc_speech_encoder and interfaces::audio_sequence_classifier,
// so the speech pipelines take it (and any other speech family) without naming it.
struct wav2vec2_model final : interfaces::ctc_speech_encoder, interfaces::audio_sequence_classifier {
    wav2vec2::config config;
    feature_encoder feature_extractor;
    wav2vec2::feature_projection feature_projection;
    tensor<1> masked_spec_embed;  // [hidden_size]; empty when the config has no SpecAugment
    wav2vec2::encoder encoder;
    std::optional<ctc_head> lm_head;                     // *ForCTC
    std::optional<sequence_classification_head> classification;  // *ForSequenceClassification
    std::optional<gumbel_vector_quantizer> quantizer;    // Wav2Vec2ForPreTraining
    std::optional<layers::linear> project_hid, project_q;  // Wav2Vec2ForPreTraining

    // A directory as the hub has it: config.json + model.safetensors (or shards); with
    // options.target_lang, that language's adapter from the same directory (load_adapter).
    static wav2vec2_model from_pretrained(const std::filesystem::path& dir, mmt::load_options options = {}) {
        wav2vec2_model m = load_pretrained<wav2vec2_model, wav2vec2::config>(dir, checkpoint_names(), options);
        if (!options.target_lang.empty()) m.load_adapter(dir, options.target_lang, options);
        return m;
    }

    // Takes every tensor `c` needs from `loader`; one left over is an error.
    static wav2vec2_model load(const wav2vec2::config& c, io::weight_loader& loader) {
        const io::weight_scope root = loader.root();
        const io::weight_scope body = body_scope(root, c.base_model_prefix(), c.arch != wav2vec2::architecture::model);
        wav2vec2_model m;
        m.config = c;
        m.feature_extractor = feature_encoder::load(body.child("feature_extractor"), c.conv_stack());
        m.feature_projection = feature_projection::load(body.child("feature_projection"), c);
        if (c.has_masked_spec_embed()) m.masked_spec_embed = body.get<1>("masked_spec_embed", {c.hidden_size});
        m.encoder = encoder::load(body.child("encoder"), c);
        if (c.arch == wav2vec2::architecture::ctc) m.lm_head = ctc_head::load(root, c);
        if (c.arch == wav2vec2::architecture::sequence_classification) m.classification = sequence_classification_head::load(root, c);
        if (c.arch == wav2vec2::architecture::pretraining) {
            m.quantizer = gumbel_vector_quantizer::load(root.child("quantizer"), c);
            m.project_hid = layers::linear::load_head(root.child("project_hid"), c.hidden_size, c.proj_codevector_dim);
            m.project_q = layers::linear::load_head(root.child("project_q"), c.codevector_dim, c.proj_codevector_dim);
        }
        loader.check_all_used();
        return m;
    }

    // Frames the feature encoder makes of `samples` (<= 0 when fewer than one frame's worth).
    std::int64_t frames_for(std::size_t samples) const { return config.feat_extract_output_length(std::int64_t(samples)); }

    // Wav2Vec2ForCTC.load_adapter(target_lang), for MMS checkpoints (adapter_attn_dim): reads
    // adapter.<target_lang>.safetensors (else adapter.<target_lang>.bin, as HF does) from `dir`
    // and replaces every layer's adapter and the lm_head, whose vocabulary is the file's. The
    // file must hold exactly those tensors.
    void load_adapter(const std::filesystem::path& dir, const std::string& target_lang, mmt::load_options options = {}) {
        if (!config.has_adapters() || !lm_head)
            fail<config_error>(config.architecture_name(), ": --language / target_lang needs an MMS checkpoint (Wav2Vec2ForCTC with "
                               "adapter_attn_dim and the stable layer norm); '", dir.string(), "' has no language adapters");
        std::filesystem::path file = dir / ("adapter." + target_lang + ".safetensors");
        if (!std::filesystem::exists(file) && std::filesystem::exists(dir / ("adapter." + target_lang + ".bin")))
            file = dir / ("adapter." + target_lang + ".bin");
        if (!std::filesystem::exists(file)) {
            std::set<std::string> languages;
            for (const auto& entry : std::filesystem::directory_iterator(dir)) {
                const std::string name = entry.path().filename().string();
                const std::string prefix = "adapter.";
                for (const std::string suffix : {".safetensors", ".bin"})
                    if (name.size() > prefix.size() + suffix.size() && name.compare(0, prefix.size(), prefix) == 0 &&
                        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
                        languages.insert(name.substr(prefix.size(), name.size() - prefix.size() - suffix.size()));
            }
            fail<config_error>("language \"", target_lang, "\": no ", file.string(), "; the languages present are ",
                               languages.empty() ? std::string("none") : or_list(languages));
        }
        io::checkpoint adapter = io::checkpoint::open(file);
        if (!adapter.contains("lm_head.weight") || adapter.info("lm_head.weight").shape.size() != 2)
            fail<weight_error>(file.string(), ": expected the language's CTC head 'lm_head.weight' [vocab_size, ", config.hidden_size, "]");
        const std::size_t vocab = adapter.info("lm_head.weight").shape[0];  // the language's own vocabulary
        io::weight_loader loader(std::move(adapter), checkpoint_names(), options);
        const io::weight_scope root = loader.root();
        const io::weight_scope layers = body_scope(root, config.base_model_prefix(), true).child("encoder").child("layers");
        std::vector<layers::bottleneck_adapter> adapters;
        for (std::size_t i = 0; i < config.num_hidden_layers; ++i)
            adapters.push_back(layers::bottleneck_adapter::load(layers.child(i).child(encoder_layer_names.adapter), config.hidden_size,
                                                                config.adapter_attn_dim));
        ctc_head head{layers::linear::load_head(root.child("lm_head"), config.hidden_size, vocab)};
        loader.check_all_used();
        for (std::size_t i = 0; i < adapters.size(); ++i) encoder.layers.layers[i].adapter = std::move(adapters[i]);
        lm_head = std::move(head);
        config.vocab_size = vocab;
    }

    // _get_feature_vector_attention_mask: row b keeps its first
    // feat_extract_output_length(sum(attention_mask[b])) frames. attention_mask: [batch, samples]
    // of 0 / 1 -> [batch, frames]. A row too short for one frame is an input_error (HF would index
    // frame -1 and unmask the whole row).
    int_tensor<2> feature_vector_attention_mask(std::size_t frames, const int_tensor<2>& attention_mask) const {
        int_tensor<2> mask = xt::zeros<std::int64_t>({attention_mask.shape(0), frames});
        for (std::size_t b = 0; b < attention_mask.shape(0); ++b) {
            std::int64_t samples = 0;
            for (std::size_t t = 0; t < attention_mask.shape(1); ++t) samples += attention_mask(b, t);
            const std::int64_t keep = frames_for(std::size_t(samples));
            if (keep < 1)
                fail<input_error>(config.architecture_name(), ": attention_mask row ", b, " covers ", samples,
                                  " samples, fewer than one frame of the feature encoder; expected at least ",
                                  config.min_input_length());
            for (std::size_t t = 0; t < std::size_t(keep) && t < frames; ++t) mask(b, t) = 1;
        }
        return mask;
    }

    // The feature encoder and the projection's LayerNorm only: HF's extract_features, what the
    // quantizer reads. input_values: [batch, samples] -> [batch, frames, conv_dim[-1]].
    tensor<3> extract_features(const tensor<2>& input_values) const {
        check_input_values(input_values);
        return feature_projection.normalize(feature_extractor.forward(input_values));
    }

    // Wav2Vec2Model.forward (HubertModel, ...). input_values: [batch, samples]; attention_mask:
    // [batch, samples] of 0 / 1 or empty; mask_time_indices: [batch, frames], nonzero where
    // masked_spec_embed replaces the frame, or empty. `hidden_states`, when given, receives
    // the encoder's output_hidden_states (encoder.hpp).
    base_output forward(const tensor<2>& input_values, const int_tensor<2>& attention_mask = {},
                        const int_tensor<2>& mask_time_indices = {}, std::vector<tensor<3>>* hidden_states = nullptr) const {
        check_input_values(input_values);
        const tensor<3> features = feature_extractor.forward(input_values);  // [batch, frames, conv_dim[-1]]
        const std::size_t batch = features.shape(0), frames = features.shape(1);
        int_tensor<2> frame_mask;
        if (attention_mask.size() != 0) {
            check_attention_mask(input_values, attention_mask);
            frame_mask = feature_vector_attention_mask(frames, attention_mask);
        }
        base_output out;
        tensor<3> normalized = feature_projection.normalize(features);
        tensor<3> hidden = feature_projection.projection.forward(normalized);  // [batch, frames, hidden_size]
        if (config.has_extract_features()) out.extract_features = std::move(normalized);
        if (mask_time_indices.size() != 0) {
            check_mask_time_indices(mask_time_indices, batch, frames);
            if (config.apply_spec_augment) {
                if (masked_spec_embed.size() == 0)
                    fail<input_error>(config.architecture_name(), ": mask_time_indices given, but this model has no "
                                      "masked_spec_embed (mask_time_prob and mask_feature_prob are 0 in config.json)");
                for (std::size_t b = 0; b < batch; ++b)
                    for (std::size_t t = 0; t < frames; ++t)
                        if (mask_time_indices(b, t) != 0)
                            std::copy(masked_spec_embed.begin(), masked_spec_embed.end(), &hidden(b, t, 0));
            }
        }
        out.last_hidden_state = encoder.forward(std::move(hidden), frame_mask, hidden_states);
        return out;
    }

    // Wav2Vec2ForCTC.forward (no labels, so no loss).
    ctc_output forward_ctc(const tensor<2>& input_values, const int_tensor<2>& attention_mask = {}) const {
        if (!lm_head) fail<input_error>("forward_ctc needs a ", ctc_architecture(), " checkpoint, this one is ", architecture());
        ctc_output out;
        out.wav2vec2 = forward(input_values, attention_mask);
        out.logits = lm_head->forward(out.wav2vec2.last_hidden_state);
        return out;
    }

    // Wav2Vec2ForSequenceClassification.forward (HubertForSequenceClassification, ...; no
    // labels, so no loss).
    sequence_classification_output forward_sequence_classification(const tensor<2>& input_values,
                                                                    const int_tensor<2>& attention_mask = {}) const {
        if (!classification)
            fail<input_error>("forward_sequence_classification needs a ", classification_architecture(), " checkpoint, this one is ",
                              architecture());
        sequence_classification_output out;
        std::vector<tensor<3>> hidden_states;
        out.wav2vec2 = forward(input_values, attention_mask, {}, classification->weighted() ? &hidden_states : nullptr);
        if (!classification->weighted()) hidden_states.push_back(out.wav2vec2.last_hidden_state);
        const int_tensor<2> frame_mask =
            attention_mask.size() != 0 ? feature_vector_attention_mask(out.wav2vec2.last_hidden_state.shape(1), attention_mask) : int_tensor<2>();
        out.logits = classification->forward(hidden_states, frame_mask);
        return out;
    }

    // Wav2Vec2ForPreTraining.forward in eval mode (no sampled negatives, so no loss); the
    // perplexity counts the frames of mask_time_indices when given, all frames otherwise.
    pretraining_output forward_pretraining(const tensor<2>& input_values, const int_tensor<2>& attention_mask = {},
                                           const int_tensor<2>& mask_time_indices = {}) const {
        if (!quantizer)
            fail<input_error>("forward_pretraining needs a Wav2Vec2ForPreTraining checkpoint, this one is ",
                              architecture());
        pretraining_output out;
        out.wav2vec2 = forward(input_values, attention_mask, mask_time_indices);
        out.projected_states = project_hid->forward(out.wav2vec2.last_hidden_state);
        quantizer_output q = quantizer->forward(out.wav2vec2.extract_features, mask_time_indices);
        out.projected_quantized_states = project_q->forward(q.quantized_features);
        out.codevector_perplexity = q.codevector_perplexity;
        out.quantized_features = std::move(q.quantized_features);
        out.codevector_indices = std::move(q.codevector_indices);
        return out;
    }

    // interfaces::speech_input
    const char* architecture() const override { return config.architecture_name(); }
    std::int64_t inputs_to_logits_ratio() const override { return config.inputs_to_logits_ratio(); }
    std::size_t min_input_length() const override { return config.min_input_length(); }
    bool takes_attention_mask() const override { return config.takes_attention_mask(); }
    // interfaces::ctc_speech_encoder
    const char* ctc_architecture() const override { return architecture_name(config.kind, wav2vec2::architecture::ctc); }
    bool has_ctc_head() const override { return lm_head.has_value(); }
    tensor<3> ctc_logits(const tensor<2>& input_values, const int_tensor<2>& attention_mask) const override {
        return forward_ctc(input_values, attention_mask).logits;
    }
    // interfaces::audio_sequence_classifier
    const char* classification_architecture() const override {
        return architecture_name(config.kind, wav2vec2::architecture::sequence_classification);
    }
    bool has_classification_head() const override { return classification.has_value(); }
    const std::map<std::int64_t, std::string>& id2label() const override { return config.id2label; }
    tensor<2> sequence_logits(const tensor<2>& input_values, const int_tensor<2>& attention_mask) const override {
        return forward_sequence_classification(input_values, attention_mask).logits;
    }

private:
    void check_input_values(const tensor<2>& input_values) const {
        if (input_values.shape(0) == 0)
            fail<shape_error>(config.architecture_name(), ": input_values has shape [0, ", input_values.shape(1),
                              "], expected [batch >= 1, samples]");
    }
    void check_attention_mask(const tensor<2>& input_values, const int_tensor<2>& attention_mask) const {
        if (attention_mask.shape(0) != input_values.shape(0) || attention_mask.shape(1) != input_values.shape(1))
            fail<shape_error>(config.architecture_name(), ": attention_mask has shape [", attention_mask.shape(0), ", ",
                              attention_mask.shape(1), "], expected input_values' [", input_values.shape(0), ", ",
                              input_values.shape(1), "]");
        for (std::size_t i = 0; i < attention_mask.size(); ++i)
            if (attention_mask.data()[i] != 0 && attention_mask.data()[i] != 1)
                fail<input_error>(config.architecture_name(), ": attention_mask holds ", attention_mask.data()[i],
                                  " at flat position ", i, "; expected 0 (padding) or 1 (samples)");
    }
    void check_mask_time_indices(const int_tensor<2>& mask, std::size_t batch, std::size_t frames) const {
        if (mask.shape(0) != batch || mask.shape(1) != frames)
            fail<shape_error>(config.architecture_name(), ": mask_time_indices has shape [", mask.shape(0), ", ", mask.shape(1),
                              "], expected [", batch, ", ", frames, "] (one entry per frame)");
    }
};

}  // namespace mmt::wav2vec2
