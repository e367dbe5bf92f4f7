// The second translation unit of the ODR check. It includes mmt/fwd.hpp first:
// each forward declaration must name the type mmt.hpp defines (a misplaced one
// would declare another, incomplete type, and sizeof below would not compile).
#include <mmt/fwd.hpp>
#include <mmt/mmt.hpp>

template <class... T>
constexpr bool all_complete() {
    return ((sizeof(T) > 0) && ...);
}
static_assert(all_complete<mmt::error, mmt::io_error, mmt::format_error, mmt::config_error, mmt::weight_error, mmt::shape_error,
                           mmt::input_error, mmt::auto_model, mmt::named_inputs, mmt::load_options, mmt::io::checkpoint,
                           mmt::io::safetensors_file, mmt::io::safetensors_writer, mmt::io::weight_loader, mmt::io::weight_scope,
                           mmt::io::rgb_image, mmt::interfaces::ctc_speech_encoder, mmt::interfaces::audio_sequence_classifier,
                           mmt::interfaces::document_token_tagger, mmt::interfaces::document_sequence_classifier,
                           mmt::interfaces::text_image_embedder, mmt::clip::config, mmt::clip::clip_model, mmt::layoutlm::config,
                           mmt::layoutlm::pretrained_model, mmt::wav2vec2::config, mmt::wav2vec2::wav2vec2_model,
                           mmt::tokenizers::clip_bpe_tokenizer, mmt::tokenizers::wordpiece_tokenizer,
                           mmt::tokenizers::roberta_bpe_tokenizer, mmt::tokenizers::roberta_word_tokenizer,
                           mmt::tokenizers::wav2vec2_ctc_tokenizer, mmt::preprocess::clip_image_processor, mmt::pipelines::clip_embedder,
                           mmt::pipelines::document_model, mmt::pipelines::speech_recognizer, mmt::pipelines::ocr_document,
                           mmt::pipelines::transcription_options, mmt::pipelines::transcription>(),
              "mmt/fwd.hpp declares the types mmt.hpp defines");
static_assert(sizeof(mmt::kernel_isa) > 0 && sizeof(mmt::precision) > 0, "mmt/fwd.hpp declares the enums");

int other_translation_unit() { return static_cast<int>(mmt::tensor<1>::from_shape({3}).size()); }
