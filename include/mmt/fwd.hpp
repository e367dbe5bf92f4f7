// Declarations of mmt's main types without their definitions: a header of a
// program's own that holds a model, a pipeline or a tokenizer by reference or
// pointer includes this (a few standard headers' worth) instead of the
// definitions, which bring in xtensor, nlohmann-json and the codecs (about
// 250k lines). The definitions come from <mmt/mmt.hpp> or the type's own header.
#pragma once

namespace mmt {

class error;
class io_error;
class format_error;
class config_error;
class weight_error;
class shape_error;
class input_error;
class numeric_error;

enum class kernel_isa;
enum class precision;
struct load_options;

class auto_model;
struct named_inputs;

namespace io {
class checkpoint;
class pytorch_checkpoint;
class safetensors_file;
class safetensors_writer;
class tensor_source;
class weight_loader;
class weight_scope;
struct rgb_image;
}  // namespace io

namespace interfaces {
class ctc_speech_encoder;
class audio_sequence_classifier;
class document_token_tagger;
class document_sequence_classifier;
class text_image_embedder;
}  // namespace interfaces

namespace clip {
struct config;
struct clip_model;
}  // namespace clip

namespace layoutlm {
struct config;
struct pretrained_model;
}  // namespace layoutlm

namespace wav2vec2 {
struct config;
struct wav2vec2_model;
}  // namespace wav2vec2

namespace tokenizers {
class clip_bpe_tokenizer;
class wordpiece_tokenizer;
class roberta_bpe_tokenizer;
class roberta_word_tokenizer;
class word_tokenizer;
class wav2vec2_ctc_tokenizer;
struct ctc_transcript;
struct forced_alignment;
}  // namespace tokenizers

namespace preprocess {
class clip_image_processor;
}  // namespace preprocess

namespace pipelines {
class clip_embedder;
class document_model;
class embedding_index;
class speech_recognizer;
struct ocr_document;
struct transcription_options;
struct transcription;
struct alignment;
struct cue;
struct cue_options;
}  // namespace pipelines

}  // namespace mmt
