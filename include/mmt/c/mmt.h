/* mmt's C API: the library's pipelines behind opaque handles, for C programs and for
 * other languages' foreign-function interfaces (mmt's Python module is built on it).
 *
 * Conventions
 * - Every function that can fail returns an mmt_status; MMT_OK is 0. On failure,
 *   mmt_last_error() holds the message (what, where, expected, got) until the calling
 *   thread's next call. No C++ exception crosses this boundary.
 * - Handles come from *_load and are released by their *_free (NULL is allowed).
 *   Results are written to caller-provided structs whose arrays the library allocates;
 *   each kind has its own *_free, which also accepts a zeroed struct. On failure the
 *   output struct is left zeroed.
 * - Fields that take an enum's values are ints, so a caller's out-of-range value is an
 *   error rather than undefined behaviour.
 * - Strings are UTF-8 and NUL-terminated. Images are 8-bit RGB, row-major
 *   [height][width][3]. Audio is mono float32 samples in [-1, 1].
 *
 * Thread safety
 * - A loaded handle is immutable: any number of threads may call it at once (the
 *   results equal a serial run's bit for bit). A handle must not be freed while a call
 *   on it is running.
 * - mmt_last_error() is per thread.
 * - Each call also runs its own work on the library's worker threads (MMT_NUM_THREADS,
 *   else OMP_NUM_THREADS, else every CPU the process may use); while one call's work
 *   holds them, another call's runs on its own thread.
 *
 * Link with mmt::c (CMake) or -lmmt_c. */
#ifndef MMT_C_MMT_H
#define MMT_C_MMT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library is built with hidden symbols (the C++ inside stays its own); these are its exports. */
#if defined(__GNUC__)
#define MMT_C_API __attribute__((visibility("default")))
#else
#define MMT_C_API
#endif

/* One code per mmt::error kind, plus the failures outside them. */
typedef enum mmt_status {
    MMT_OK = 0,
    MMT_ERROR_IO = 1,         /* a file could not be opened, mapped or read */
    MMT_ERROR_FORMAT = 2,     /* a file's bytes do not follow its format */
    MMT_ERROR_CONFIG = 3,     /* config / tokenizer / preprocessor settings are wrong */
    MMT_ERROR_WEIGHT = 4,     /* a checkpoint tensor is missing, unused or of the wrong dtype */
    MMT_ERROR_SHAPE = 5,      /* a tensor has the wrong shape */
    MMT_ERROR_INPUT = 6,      /* user input is out of range or malformed */
    MMT_ERROR_ARGUMENT = 7,   /* the call itself is wrong: a NULL handle or pointer */
    MMT_ERROR_NO_MEMORY = 8,  /* an allocation failed: the input is too large */
    MMT_ERROR_INTERNAL = 9    /* anything else; a bug in mmt */
} mmt_status;

/* The calling thread's last error message ("" after a success). */
MMT_C_API const char* mmt_last_error(void);
/* "ok", "io", "format", "config", "weight", "shape", "input", "argument", "no_memory", "internal". */
MMT_C_API const char* mmt_status_name(mmt_status status);
/* "0.1.0" */
MMT_C_API const char* mmt_version(void);

/* How a model is loaded. A NULL mmt_load_options* means the defaults (all zero). */
typedef enum mmt_precision { MMT_PRECISION_F32 = 0, MMT_PRECISION_BF16 = 1, MMT_PRECISION_INT8 = 2 } mmt_precision;
typedef struct mmt_load_options {
    int precision;            /* an mmt_precision, of the encoders' linear layers; F32 is HF's numbers */
    const char* language;     /* MMS speech checkpoints: the adapter's language; NULL keeps the checkpoint's */
    /* Modules whose layers take another precision, as MODULE=PRECISION pairs separated by
     * commas, MODULE being dotted components of the checkpoint's names and PRECISION
     * f32, bf16 or int8: "feature_extractor=bf16,encoder.layers.0=f32". The first pair
     * that matches a layer decides; a pair that matches none is an error. NULL for none. */
    const char* module_precision;
} mmt_load_options;

/* ---- Images and audio ---- */

/* A view of pixels the caller owns: [height][width][3] bytes. */
typedef struct mmt_image {
    const uint8_t* pixels;
    size_t width;
    size_t height;
} mmt_image;

/* Pixels mmt decoded from a PNG or JPEG file, as the tool reads them. */
typedef struct mmt_decoded_image {
    uint8_t* pixels;  /* [height][width][3] */
    size_t width;
    size_t height;
} mmt_decoded_image;
MMT_C_API mmt_status mmt_image_read(const char* path, mmt_decoded_image* out);
MMT_C_API mmt_status mmt_image_decode(const uint8_t* bytes, size_t size, mmt_decoded_image* out);
MMT_C_API void mmt_decoded_image_free(mmt_decoded_image* image);
/* The view of a decoded image. */
MMT_C_API mmt_image mmt_decoded_image_view(const mmt_decoded_image* image);

/* ---- Embeddings and zero-shot image classification (CLIP, SigLIP, Chinese-CLIP) ---- */

typedef struct mmt_embedder mmt_embedder;

/* rows x cols float32, row-major. */
typedef struct mmt_matrix {
    float* data;
    size_t rows;
    size_t cols;
} mmt_matrix;
MMT_C_API void mmt_matrix_free(mmt_matrix* matrix);

MMT_C_API mmt_status mmt_embedder_load(const char* model_dir, const mmt_load_options* options, mmt_embedder** out);
MMT_C_API void mmt_embedder_free(mmt_embedder* embedder);
/* [count, embed_dim], each row of unit length. */
MMT_C_API mmt_status mmt_embed_texts(const mmt_embedder* embedder, const char* const* texts, size_t count, mmt_matrix* out);
MMT_C_API mmt_status mmt_embed_images(const mmt_embedder* embedder, const mmt_image* images, size_t count, mmt_matrix* out);

typedef struct mmt_label_score {
    char* label;
    float score;
} mmt_label_score;
typedef struct mmt_label_scores {
    mmt_label_score* items;  /* best first */
    size_t count;
} mmt_label_scores;
MMT_C_API void mmt_label_scores_free(mmt_label_scores* scores);

/* HF's zero-shot-image-classification: every label in `hypothesis_template` ("{}" marks
 * the label; NULL is HF's "This is a photo of {}."), scored by the model's own image-text
 * score (softmax over the labels for CLIP-like models, a sigmoid per label for SigLIP). */
MMT_C_API mmt_status mmt_classify_image(const mmt_embedder* embedder, const mmt_image* image, const char* const* labels, size_t label_count,
                              const char* hypothesis_template, mmt_label_scores* out);

/* A collection into an embedding index, as `mmt embed-collection` writes it (shards of
 * unit rows + manifest.jsonl; see its README section). Give exactly one of images (a
 * folder, walked recursively in sorted path order), manifest (JSONL of {"id", "path"})
 * and texts (one per line). Part K of N writes the whole shards of that part only: N
 * parts, each in its own folder, hold the files of one full run, and their manifests
 * concatenated in part order are its manifest. A NULL options pointer is not allowed;
 * zero counts mean the tool's defaults (batch 16, 8192 inputs per shard, part 1 of 1, a quarter
 * of the cores decoding). */
typedef struct mmt_collection_options {
    const char* images;
    const char* manifest;
    const char* texts;
    const char* out;  /* the index folder: absent or empty, or the run to resume */
    size_t batch_size;
    size_t inputs_per_shard;
    size_t part_index;  /* K, 1-based */
    size_t part_count;  /* N */
    int resume;         /* go on with the run in `out` after its last complete shard */
    size_t decode_threads;
} mmt_collection_options;
typedef struct mmt_collection_progress {
    size_t done;    /* inputs of the part embedded or failed */
    size_t total;   /* inputs of the part */
    size_t kept;    /* done by the run that was resumed */
    size_t failed;  /* their errors are in the manifest */
} mmt_collection_progress;
MMT_C_API mmt_status mmt_embed_collection(const mmt_embedder* embedder, const mmt_collection_options* options, mmt_collection_progress* out);

/* ---- Speech recognition (CTC: Wav2Vec2, HuBERT, WavLM, Data2VecAudio) ---- */

typedef struct mmt_speech_recognizer mmt_speech_recognizer;

typedef enum mmt_timestamps { MMT_TIMESTAMPS_NONE = 0, MMT_TIMESTAMPS_WORD = 1, MMT_TIMESTAMPS_CHAR = 2 } mmt_timestamps;
/* HF's automatic-speech-recognition arguments. A NULL mmt_transcribe_options* means all zero. */
typedef struct mmt_transcribe_options {
    double chunk_length_s;   /* 0: the whole audio in one pass */
    double stride_length_s;  /* <= 0: HF's default, chunk_length_s / 6 */
    int timestamps;          /* an mmt_timestamps */
} mmt_transcribe_options;

typedef struct mmt_timed_text {
    char* text;
    double start;  /* seconds */
    double end;
} mmt_timed_text;
typedef struct mmt_transcription {
    char* text;
    mmt_timed_text* chunks;  /* words or characters; none without timestamps */
    size_t chunk_count;
} mmt_transcription;
MMT_C_API void mmt_transcription_free(mmt_transcription* transcription);

MMT_C_API mmt_status mmt_speech_recognizer_load(const char* model_dir, const mmt_load_options* options, mmt_speech_recognizer** out);
MMT_C_API void mmt_speech_recognizer_free(mmt_speech_recognizer* recognizer);
/* The rate the model hears; other rates are resampled as torchaudio does. */
MMT_C_API int mmt_speech_recognizer_sampling_rate(const mmt_speech_recognizer* recognizer);
MMT_C_API mmt_status mmt_transcribe(const mmt_speech_recognizer* recognizer, const float* samples, size_t sample_count, int sample_rate,
                          const mmt_transcribe_options* options, mmt_transcription* out);
/* A WAV file, read in pieces as it is transcribed. */
MMT_C_API mmt_status mmt_transcribe_file(const mmt_speech_recognizer* recognizer, const char* wav_path, const mmt_transcribe_options* options,
                               mmt_transcription* out);

/* ---- Documents: words with boxes (LayoutLM, LayoutLMv3, LiLT) ---- */

typedef struct mmt_document_model mmt_document_model;

/* An OCR'd page: words and their boxes [x0, y0, x1, y1] in the page's pixels. */
typedef struct mmt_document {
    double width;
    double height;
    const char* const* words;
    const double (*boxes)[4];
    size_t word_count;
    const mmt_image* page_image;  /* LayoutLMv3's pixel input, through the checkpoint's image processor; NULL for none */
} mmt_document;

typedef struct mmt_word_label {
    size_t index;  /* into the document's words */
    char* text;
    int64_t box[4];  /* on LayoutLM's 0..1000 grid */
    char* label;
    float score;
} mmt_word_label;
typedef struct mmt_word_labels {
    mmt_word_label* items;  /* in word order */
    size_t count;
} mmt_word_labels;
MMT_C_API void mmt_word_labels_free(mmt_word_labels* labels);

typedef struct mmt_document_label {
    char* label;  /* the best label */
    float score;
    int multi_label;           /* 1: sigmoid scores, `labels` holds those >= 0.5; 0: softmax */
    mmt_label_scores labels;   /* the document's labels */
    mmt_label_scores scores;   /* every label, best first */
} mmt_document_label;
MMT_C_API void mmt_document_label_free(mmt_document_label* label);

MMT_C_API mmt_status mmt_document_model_load(const char* model_dir, const mmt_load_options* options, mmt_document_model** out);
MMT_C_API void mmt_document_model_free(mmt_document_model* model);
/* With HF's defaults: boxes outside the page are an error (not clamped), 0.5 the multi-label threshold. */
MMT_C_API mmt_status mmt_tag_document(const mmt_document_model* model, const mmt_document* document, mmt_word_labels* out);
MMT_C_API mmt_status mmt_classify_document(const mmt_document_model* model, const mmt_document* document, mmt_document_label* out);

/* ---- Any checkpoint, run by HF's argument and output names ---- */

typedef struct mmt_model mmt_model;

typedef enum mmt_dtype { MMT_FLOAT32 = 0, MMT_INT64 = 1 } mmt_dtype;
/* A named tensor the caller owns: ids, masks and boxes as int64, pixels and audio as float32. */
typedef struct mmt_tensor_view {
    const char* name;  /* "input_ids", "pixel_values", ... */
    int dtype;         /* an mmt_dtype */
    const void* data;  /* row-major */
    const size_t* shape;
    size_t rank;
} mmt_tensor_view;
/* A named float32 output the library owns. */
typedef struct mmt_tensor {
    char* name;  /* "logits", "text_embeds", ... */
    float* data;
    size_t* shape;
    size_t rank;
} mmt_tensor;
typedef struct mmt_tensors {
    mmt_tensor* items;  /* in the order the model returns them */
    size_t count;
} mmt_tensors;
MMT_C_API void mmt_tensors_free(mmt_tensors* tensors);

MMT_C_API mmt_status mmt_model_load(const char* model_dir, const mmt_load_options* options, mmt_model** out);
MMT_C_API void mmt_model_free(mmt_model* model);
/* HF's architecture name: "CLIPModel", "Wav2Vec2ForCTC", ... */
MMT_C_API const char* mmt_model_architecture(const mmt_model* model);
MMT_C_API mmt_status mmt_model_forward(const mmt_model* model, const mmt_tensor_view* inputs, size_t input_count, mmt_tensors* out);

/* ---- Quantized checkpoints ---- */

/* `mmt quantize`: model_dir's weights stored once in `precision` (MMT_PRECISION_INT8 or
 * _BF16) as out_dir/model.safetensors, beside a copy of model_dir's other files
 * (docs/quantized-checkpoints.md). Every load of out_dir runs in that precision with
 * the outputs loading model_dir in it gives. *quantized (may be NULL) gets the number
 * of weights stored reduced. */
MMT_C_API mmt_status mmt_quantize(const char* model_dir, const char* out_dir, int precision, size_t* quantized);
/* mmt_quantize with some modules stored in their own precision (module_precision as in
 * mmt_load_options; NULL for none): every load of out_dir runs them so. */
MMT_C_API mmt_status mmt_quantize_modules(const char* model_dir, const char* out_dir, int precision, const char* module_precision,
                                          size_t* quantized);

#ifdef __cplusplus
}
#endif

#endif /* MMT_C_MMT_H */
