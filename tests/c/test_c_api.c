/* The C API from a C11 program: every entry point on tiny fixture checkpoints, its
 * errors (status, message, zeroed output), and 8 threads sharing each handle, whose
 * results must equal a serial run's bit for bit. Run under ASan + UBSan in CI, so a
 * leak or a bad free in the result structs fails it too.
 *
 * Usage: mmt_c_test TEST_DATA_DIR SCRATCH_DIR */
#define _POSIX_C_SOURCE 200809L /* mkdir */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <threads.h>

#include "mmt/c/mmt.h"

static int failures = 0;

#define CHECK(condition)                                                       \
    do {                                                                       \
        if (!(condition)) {                                                    \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #condition); \
            ++failures;                                                        \
        }                                                                      \
    } while (0)

/* A call that must succeed; on failure the status and message are printed and the test stops. */
#define REQUIRE_OK(call)                                                                    \
    do {                                                                                    \
        mmt_status status_ = (call);                                                        \
        if (status_ != MMT_OK) {                                                            \
            fprintf(stderr, "%s:%d: %s gave %s: %s\n", __FILE__, __LINE__, #call, mmt_status_name(status_), mmt_last_error()); \
            exit(1);                                                                        \
        }                                                                                   \
    } while (0)

/* A call that must fail with `expected` and a message containing `fragment`. */
#define CHECK_FAILS(call, expected, fragment)                                               \
    do {                                                                                    \
        mmt_status status_ = (call);                                                        \
        if (status_ != (expected) || !strstr(mmt_last_error(), (fragment))) {               \
            fprintf(stderr, "%s:%d: %s gave %s \"%s\", expected %s with \"%s\"\n", __FILE__, __LINE__, #call, \
                    mmt_status_name(status_), mmt_last_error(), mmt_status_name(expected), fragment); \
            ++failures;                                                                     \
        }                                                                                   \
    } while (0)

static char data_dir[1024], scratch[1024];

static const char* data(const char* relative) {
    static _Thread_local char path[2048];
    snprintf(path, sizeof path, "%s/%s", data_dir, relative);
    return path;
}

/* Copies the first `max_lines` lines of `from` (all when 0) to `to`. */
static void copy_file(const char* from, const char* to, size_t max_lines) {
    FILE* in = fopen(from, "rb");
    FILE* out = fopen(to, "wb");
    if (!in || !out) {
        fprintf(stderr, "cannot copy %s to %s\n", from, to);
        exit(1);
    }
    size_t lines = 0;
    int c;
    while ((c = fgetc(in)) != EOF && (max_lines == 0 || lines < max_lines)) {
        fputc(c, out);
        if (c == '\n') ++lines;
    }
    fclose(in);
    fclose(out);
}

/* A model directory in the scratch folder from fixture files: "from:name" copies
 * data/from to dir/name, "from:name:N" only its first N lines. */
static const char* assemble(const char* name, const char* const* files, size_t count) {
    static char dir[1536];
    snprintf(dir, sizeof dir, "%s/%s", scratch, name);
    mkdir(scratch, 0755);
    mkdir(dir, 0755);
    for (size_t i = 0; i < count; ++i) {
        char spec[512], to[2048];
        snprintf(spec, sizeof spec, "%s", files[i]);
        char* name_part = strchr(spec, ':');
        *name_part++ = '\0';
        char* lines_part = strchr(name_part, ':');
        if (lines_part) *lines_part++ = '\0';
        snprintf(to, sizeof to, "%s/%s", dir, name_part);
        copy_file(data(spec), to, lines_part ? (size_t)atoi(lines_part) : 0);
    }
    return dir;
}

static int unit_rows(const mmt_matrix* m) {
    for (size_t r = 0; r < m->rows; ++r) {
        double norm = 0;
        for (size_t c = 0; c < m->cols; ++c) norm += (double)m->data[r * m->cols + c] * m->data[r * m->cols + c];
        if (fabs(sqrt(norm) - 1.0) > 1e-5) return 0;
    }
    return 1;
}

static int same_matrix(const mmt_matrix* a, const mmt_matrix* b) {
    return a->rows == b->rows && a->cols == b->cols && memcmp(a->data, b->data, a->rows * a->cols * sizeof(float)) == 0;
}

/* ---- What every thread runs, and the serial run it must equal ---- */

typedef struct work {
    const mmt_embedder* embedder;
    const mmt_speech_recognizer* recognizer;
    const mmt_document_model* documents;
    const mmt_model* model;
    mmt_image image;
} work;

typedef struct results {
    mmt_matrix texts, images;
    mmt_label_scores classes;
    mmt_transcription speech;
    mmt_word_labels tags;
    mmt_tensors outputs;
} results;

static const char* const texts[] = {"a photo of a cat", "two dogs on a beach", ""};
static const char* const labels[] = {"cat", "dog", "rocket"};
static const char* const words[] = {"Invoice", "number", "42", "total:", "$17.50"};
static const double boxes[][4] = {{10, 10, 90, 30}, {100, 10, 180, 30}, {190, 10, 220, 30}, {10, 50, 60, 70}, {70, 50, 140, 70}};
static float audio_samples[16000];
static const size_t audio_shape[] = {1, 16000};

static int run(const work* w, results* r) {
    const mmt_transcribe_options words_timed = {0, 0, MMT_TIMESTAMPS_WORD};
    const mmt_document doc = {500, 100, words, boxes, 5, NULL};
    const mmt_tensor_view input = {"input_values", MMT_FLOAT32, audio_samples, audio_shape, 2};
    REQUIRE_OK(mmt_embed_texts(w->embedder, texts, 3, &r->texts));
    REQUIRE_OK(mmt_embed_images(w->embedder, &w->image, 1, &r->images));
    REQUIRE_OK(mmt_classify_image(w->embedder, &w->image, labels, 3, NULL, &r->classes));
    REQUIRE_OK(mmt_transcribe_file(w->recognizer, data("wav2vec2-audio/speech_22050.wav"), &words_timed, &r->speech));
    REQUIRE_OK(mmt_tag_document(w->documents, &doc, &r->tags));
    REQUIRE_OK(mmt_model_forward(w->model, &input, 1, &r->outputs));
    return 0;
}

static void free_results(results* r) {
    mmt_matrix_free(&r->texts);
    mmt_matrix_free(&r->images);
    mmt_label_scores_free(&r->classes);
    mmt_transcription_free(&r->speech);
    mmt_word_labels_free(&r->tags);
    mmt_tensors_free(&r->outputs);
}

/* Same names, shapes and float bits. */
static int same_tensors(const mmt_tensors* a, const mmt_tensors* b) {
    if (a->count != b->count) return 0;
    for (size_t i = 0; i < a->count; ++i) {
        const mmt_tensor *x = &a->items[i], *y = &b->items[i];
        if (strcmp(x->name, y->name) || x->rank != y->rank || memcmp(x->shape, y->shape, x->rank * sizeof(size_t))) return 0;
        size_t size = 1;
        for (size_t d = 0; d < x->rank; ++d) size *= x->shape[d];
        if (memcmp(x->data, y->data, size * sizeof(float))) return 0;
    }
    return 1;
}

static int same_results(const results* a, const results* b) {
    if (!same_matrix(&a->texts, &b->texts) || !same_matrix(&a->images, &b->images)) return 0;
    if (a->classes.count != b->classes.count || a->tags.count != b->tags.count) return 0;
    for (size_t i = 0; i < a->classes.count; ++i)
        if (strcmp(a->classes.items[i].label, b->classes.items[i].label) || a->classes.items[i].score != b->classes.items[i].score) return 0;
    if (strcmp(a->speech.text, b->speech.text) || a->speech.chunk_count != b->speech.chunk_count) return 0;
    for (size_t i = 0; i < a->tags.count; ++i)
        if (strcmp(a->tags.items[i].label, b->tags.items[i].label) || a->tags.items[i].score != b->tags.items[i].score) return 0;
    return same_tensors(&a->outputs, &b->outputs);
}

typedef struct thread_job {
    const work* w;
    const results* serial;
    int mismatches;
} thread_job;

static int thread_main(void* arg) {
    thread_job* job = arg;
    for (int run_index = 0; run_index < 2; ++run_index) {
        results r = {0};
        run(job->w, &r);
        if (!same_results(&r, job->serial)) ++job->mismatches;
        free_results(&r);
    }
    return 0;
}

/* ---- The checks ---- */

static void check_errors(void) {
    mmt_embedder* embedder = (mmt_embedder*)1;
    CHECK_FAILS(mmt_embedder_load("/nonexistent/model", NULL, &embedder), MMT_ERROR_IO, "/nonexistent/model");
    CHECK(embedder == NULL);
    CHECK_FAILS(mmt_embed_texts(NULL, texts, 1, NULL), MMT_ERROR_ARGUMENT, "embedder");
    mmt_decoded_image image = {(uint8_t*)1, 7, 7};
    const uint8_t garbage[] = "not an image at all";
    CHECK_FAILS(mmt_image_decode(garbage, sizeof garbage, &image), MMT_ERROR_FORMAT, "image");
    CHECK(image.pixels == NULL && image.width == 0);
    CHECK_FAILS(mmt_image_read(data("no-such-image.png"), &image), MMT_ERROR_IO, "no-such-image.png");
    const mmt_load_options bad_precision = {7, NULL, NULL};
    mmt_model* model = NULL;
    CHECK_FAILS(mmt_model_load(data("wav2vec2-tiny-ctc"), &bad_precision, &model), MMT_ERROR_INPUT, "precision");
    CHECK_FAILS(mmt_image_decode(NULL, 0, &image), MMT_ERROR_FORMAT, "image");
    CHECK(strcmp(mmt_status_name(MMT_ERROR_CONFIG), "config") == 0);
    CHECK(strcmp(mmt_version(), "") != 0);
    /* A success clears the thread's message. */
    CHECK(mmt_image_read(data("clip-images/chelsea.png"), &image) == MMT_OK && strcmp(mmt_last_error(), "") == 0);
    mmt_decoded_image_free(&image);
    mmt_decoded_image_free(NULL);
    mmt_matrix_free(NULL);
    mmt_embedder_free(NULL);
}

/* Whether the models in dirs a and b, loaded with options a_options and b_options,
 * give the same outputs on the test audio. */
static int same_speech_outputs(const char* a, const mmt_load_options* a_options, const char* b, const mmt_load_options* b_options) {
    mmt_model *x = NULL, *y = NULL;
    REQUIRE_OK(mmt_model_load(a, a_options, &x));
    REQUIRE_OK(mmt_model_load(b, b_options, &y));
    const mmt_tensor_view input = {"input_values", MMT_FLOAT32, audio_samples, audio_shape, 2};
    mmt_tensors expected = {0}, got = {0};
    REQUIRE_OK(mmt_model_forward(x, &input, 1, &expected));
    REQUIRE_OK(mmt_model_forward(y, &input, 1, &got));
    const int same = expected.count >= 1 && same_tensors(&expected, &got);
    mmt_tensors_free(&expected);
    mmt_tensors_free(&got);
    mmt_model_free(x);
    mmt_model_free(y);
    return same;
}

/* mmt_quantize's checkpoint loads with the outputs of the original loaded in int8, and
 * mmt_quantize_modules' with those of the original loaded with the same modules;
 * f32, a precision that is none, a quantized source, NULL paths and module pairs
 * that are not MODULE=PRECISION or match nothing are refused. */
static void check_quantize(void) {
    char out[1100];
    snprintf(out, sizeof out, "%s/wav2vec2-tiny-ctc-int8", scratch);
    size_t quantized = 0;
    REQUIRE_OK(mmt_quantize(data("wav2vec2-tiny-ctc"), out, MMT_PRECISION_INT8, &quantized));
    CHECK(quantized > 0);
    const mmt_load_options int8 = {MMT_PRECISION_INT8, NULL, NULL};
    CHECK(same_speech_outputs(data("wav2vec2-tiny-ctc"), &int8, out, NULL));

    char kept[1100];
    snprintf(kept, sizeof kept, "%s/wav2vec2-tiny-ctc-int8-modules", scratch);
    REQUIRE_OK(mmt_quantize_modules(data("wav2vec2-tiny-ctc"), kept, MMT_PRECISION_INT8, "feature_extractor=bf16", NULL));
    const mmt_load_options int8_modules = {MMT_PRECISION_INT8, NULL, "feature_extractor=bf16"};
    CHECK(same_speech_outputs(data("wav2vec2-tiny-ctc"), &int8_modules, kept, NULL));
    CHECK(!same_speech_outputs(data("wav2vec2-tiny-ctc"), &int8_modules, out, NULL));
    mmt_model* model = NULL;
    const mmt_load_options not_a_pair = {MMT_PRECISION_INT8, NULL, "feature_extractor"};
    CHECK_FAILS(mmt_model_load(data("wav2vec2-tiny-ctc"), &not_a_pair, &model), MMT_ERROR_INPUT, "module_precision: 'feature_extractor'");
    const mmt_load_options no_module = {MMT_PRECISION_INT8, NULL, "feature_extracter=bf16"};
    CHECK_FAILS(mmt_model_load(data("wav2vec2-tiny-ctc"), &no_module, &model), MMT_ERROR_CONFIG, "'feature_extracter=bf16'");
    CHECK(model == NULL);

    char again[1200];
    snprintf(again, sizeof again, "%s/again", out);
    CHECK_FAILS(mmt_quantize(out, again, MMT_PRECISION_INT8, NULL), MMT_ERROR_INPUT, "already quantized");
    CHECK_FAILS(mmt_quantize(data("wav2vec2-tiny-ctc"), again, MMT_PRECISION_F32, NULL), MMT_ERROR_INPUT, "f32");
    CHECK_FAILS(mmt_quantize(data("wav2vec2-tiny-ctc"), again, 7, NULL), MMT_ERROR_INPUT, "mmt_quantize: expected a precision");
    CHECK_FAILS(mmt_quantize(data("wav2vec2-tiny-ctc"), NULL, MMT_PRECISION_INT8, NULL), MMT_ERROR_ARGUMENT, "out_dir");
    CHECK_FAILS(mmt_quantize(NULL, again, MMT_PRECISION_INT8, NULL), MMT_ERROR_ARGUMENT, "model_dir");
    CHECK_FAILS(mmt_quantize_modules(data("wav2vec2-tiny-ctc"), again, MMT_PRECISION_INT8, "=int8", NULL), MMT_ERROR_INPUT,
                "mmt_quantize: module_precision: '=int8'");
}

static void check_results(const work* w, const results* r) {
    CHECK(r->texts.rows == 3 && r->texts.cols > 0 && unit_rows(&r->texts));
    CHECK(r->images.rows == 1 && r->images.cols == r->texts.cols && unit_rows(&r->images));

    /* SigLIP scores each label by its own sigmoid, best first. */
    CHECK(r->classes.count == 3);
    for (size_t i = 0; i < r->classes.count; ++i) {
        CHECK(r->classes.items[i].score > 0 && r->classes.items[i].score < 1);
        if (i) CHECK(r->classes.items[i - 1].score >= r->classes.items[i].score);
    }
    mmt_label_scores none = {0};
    CHECK_FAILS(mmt_classify_image(w->embedder, &w->image, labels, 3, "no placeholder", &none), MMT_ERROR_INPUT, "{}");
    CHECK_FAILS(mmt_classify_image(w->embedder, &w->image, labels, 0, NULL, &none), MMT_ERROR_INPUT, "label");

    /* Word timestamps: one chunk per word of the text, in order, inside the audio. */
    size_t text_words = 0;
    for (const char* p = r->speech.text; *p; ++p)
        if (*p != ' ' && (p == r->speech.text || p[-1] == ' ')) ++text_words;
    CHECK(r->speech.chunk_count == text_words);
    for (size_t i = 0; i < r->speech.chunk_count; ++i) {
        CHECK(r->speech.chunks[i].start <= r->speech.chunks[i].end);
        if (i) CHECK(r->speech.chunks[i - 1].end <= r->speech.chunks[i].start);
    }
    CHECK(mmt_speech_recognizer_sampling_rate(w->recognizer) == 16000);
    /* The same audio given as samples: the file is 22.05 kHz, resampled either way. */
    mmt_transcription speech = {0};
    CHECK_FAILS(mmt_transcribe(w->recognizer, audio_samples, 16000, 0, NULL, &speech), MMT_ERROR_INPUT, "rate");
    REQUIRE_OK(mmt_transcribe(w->recognizer, audio_samples, 16000, 16000, NULL, &speech));
    CHECK(speech.text != NULL && speech.chunk_count == 0);
    mmt_transcription_free(&speech);
    CHECK_FAILS(mmt_transcribe_file(w->recognizer, data("clip-images/chelsea.png"), NULL, &speech), MMT_ERROR_FORMAT, "chelsea.png");

    /* One label per word, the words' own text, boxes on the 0..1000 grid. */
    CHECK(r->tags.count == 5);
    for (size_t i = 0; i < r->tags.count && i < 5; ++i) {
        CHECK(r->tags.items[i].index == i);
        CHECK(strcmp(r->tags.items[i].text, words[i]) == 0);
        CHECK(r->tags.items[i].box[0] == (int64_t)(boxes[i][0] * 1000 / 500));
        CHECK(r->tags.items[i].score > 0 && r->tags.items[i].score <= 1);
    }
    static const double outside_box[1][4] = {{10, 10, 900, 30}};
    const mmt_document outside = {500, 100, words, outside_box, 1, NULL};
    mmt_word_labels tags = {0};
    CHECK_FAILS(mmt_tag_document(w->documents, &outside, &tags), MMT_ERROR_INPUT, "box");
    mmt_document_label label = {0};
    const mmt_document doc = {500, 100, words, boxes, 5, NULL};
    CHECK_FAILS(mmt_classify_document(w->documents, &doc, &label), MMT_ERROR_INPUT, "LayoutLMForTokenClassification");
    const mmt_image page = w->image;
    const mmt_document with_page = {500, 100, words, boxes, 5, &page};
    CHECK_FAILS(mmt_tag_document(w->documents, &with_page, &tags), MMT_ERROR_INPUT, "preprocessor_config.json");

    /* Wav2Vec2ForCTC's logits: [1, frames, vocab]. */
    CHECK(strcmp(mmt_model_architecture(w->model), "Wav2Vec2ForCTC") == 0);
    CHECK(r->outputs.count >= 1 && strcmp(r->outputs.items[0].name, "logits") == 0 && r->outputs.items[0].rank == 3);
    CHECK(r->outputs.items[0].shape[0] == 1);
    mmt_tensors outputs = {0};
    static const int64_t ints[4] = {1, 2, 3, 4};
    static const size_t ints_shape[] = {1, 4};
    const mmt_tensor_view as_ints = {"input_values", MMT_INT64, ints, ints_shape, 2};
    CHECK_FAILS(mmt_model_forward(w->model, &as_ints, 1, &outputs), MMT_ERROR_INPUT, "input_values");
}

int main(int argc, char** argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s TEST_DATA_DIR SCRATCH_DIR\n", argv[0]);
        return 2;
    }
    snprintf(data_dir, sizeof data_dir, "%s", argv[1]);
    snprintf(scratch, sizeof scratch, "%s", argv[2]);
    for (size_t i = 0; i < 16000; ++i) audio_samples[i] = 0.5f * (float)sin(2 * 3.14159265358979 * 440 * (double)i / 16000);

    check_errors();
    check_quantize();

    const char* const siglip_files[] = {"siglip-tiny/config.json:config.json", "siglip-tiny/model.safetensors:model.safetensors",
                                        "siglip-tokenizer/spiece.model:spiece.model", "siglip-tokenizer/tokenizer_config.json:tokenizer_config.json",
                                        "siglip-tokenizer/special_tokens_map.json:special_tokens_map.json",
                                        "siglip-images/preprocessor_config.json:preprocessor_config.json"};
    mmt_embedder* embedder = NULL;
    REQUIRE_OK(mmt_embedder_load(assemble("siglip", siglip_files, 6), NULL, &embedder));
    /* layoutlm-tiny-token-cls has vocab_size 99: the first 99 lines of the fixture vocabulary are its tokenizer. */
    const char* const layoutlm_files[] = {"layoutlm-tiny-token-cls/config.json:config.json",
                                          "layoutlm-tiny-token-cls/model.safetensors:model.safetensors",
                                          "layoutlm-tokenizer/tokenizer_config.json:tokenizer_config.json",
                                          "layoutlm-tokenizer/special_tokens_map.json:special_tokens_map.json",
                                          "layoutlm-tokenizer/vocab.txt:vocab.txt:99"};
    mmt_document_model* documents = NULL;
    REQUIRE_OK(mmt_document_model_load(assemble("layoutlm", layoutlm_files, 5), NULL, &documents));
    mmt_speech_recognizer* recognizer = NULL;
    REQUIRE_OK(mmt_speech_recognizer_load(data("wav2vec2-tiny-ctc"), NULL, &recognizer));
    mmt_model* model = NULL;
    REQUIRE_OK(mmt_model_load(data("wav2vec2-tiny-ctc"), NULL, &model));
    mmt_decoded_image image = {0};
    REQUIRE_OK(mmt_image_read(data("clip-images/chelsea.png"), &image));

    const work w = {embedder, recognizer, documents, model, mmt_decoded_image_view(&image)};
    results serial = {0};
    run(&w, &serial);
    check_results(&w, &serial);

    enum { thread_count = 8 };
    thrd_t threads[thread_count];
    thread_job jobs[thread_count];
    for (int i = 0; i < thread_count; ++i) {
        jobs[i] = (thread_job){&w, &serial, 0};
        CHECK(thrd_create(&threads[i], thread_main, &jobs[i]) == thrd_success);
    }
    for (int i = 0; i < thread_count; ++i) {
        thrd_join(threads[i], NULL);
        CHECK(jobs[i].mismatches == 0);
    }

    free_results(&serial);
    mmt_decoded_image_free(&image);
    mmt_model_free(model);
    mmt_speech_recognizer_free(recognizer);
    mmt_document_model_free(documents);
    mmt_embedder_free(embedder);
    if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
    else printf("every check passed\n");
    return failures ? 1 : 0;
}
