// The C API (include/mmt/c/mmt.h) over the library's pipelines: each handle holds one
// loaded pipeline, each call runs it inside `guarded`, which turns every exception
// into a status and the thread's last error, and each result is copied into malloc'd
// C structs that free themselves on the way out of a failed call.
#include "mmt/c/mmt.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/io/image.hpp"
#include "mmt/models/auto_model.hpp"
#include "mmt/models/named_tensors.hpp"
#include "mmt/models/quantize.hpp"
#include "mmt/pipelines/collection_sources.hpp"
#include "mmt/pipelines/document_pipeline.hpp"
#include "mmt/pipelines/embed_collection.hpp"
#include "mmt/pipelines/embedding_index_format.hpp"
#include "mmt/pipelines/text_image_embedders.hpp"
#include "mmt/pipelines/transcription.hpp"
#include "mmt/pipelines/zero_shot_image_classification.hpp"

struct mmt_embedder {
    std::shared_ptr<const mmt::interfaces::text_image_embedder> pipeline;
    std::string model_name;  // what an embedding index records (index_format::model_name)
};

struct mmt_speech_recognizer {
    mmt::pipelines::speech_recognizer pipeline;
};

struct mmt_document_model {
    mmt::pipelines::document_pipeline pipeline;
};

struct mmt_model {
    mmt::auto_model model;
    std::string architecture;
};

namespace {

thread_local std::string last_error;

// A call made wrongly (a NULL handle or pointer): MMT_ERROR_ARGUMENT.
class argument_error : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

template <class T>
void require(const T* pointer, const char* function, const char* argument) {
    if (!pointer) throw argument_error(std::string(function) + ": " + argument + " is NULL");
}

mmt_status failed(mmt_status status, const char* message) noexcept {
    try {
        last_error = message;
    } catch (...) {
        last_error.clear();
    }
    return status;
}

// Runs `body`; an exception becomes its status, with its message kept for mmt_last_error.
template <class F>
mmt_status guarded(F&& body) noexcept {
    try {
        body();
        last_error.clear();
        return MMT_OK;
    } catch (const mmt::io_error& e) {
        return failed(MMT_ERROR_IO, e.what());
    } catch (const mmt::format_error& e) {
        return failed(MMT_ERROR_FORMAT, e.what());
    } catch (const mmt::config_error& e) {
        return failed(MMT_ERROR_CONFIG, e.what());
    } catch (const mmt::weight_error& e) {
        return failed(MMT_ERROR_WEIGHT, e.what());
    } catch (const mmt::shape_error& e) {
        return failed(MMT_ERROR_SHAPE, e.what());
    } catch (const mmt::input_error& e) {
        return failed(MMT_ERROR_INPUT, e.what());
    } catch (const argument_error& e) {
        return failed(MMT_ERROR_ARGUMENT, e.what());
    } catch (const std::bad_alloc&) {
        return failed(MMT_ERROR_NO_MEMORY, "out of memory: the input is too large for this machine");
    } catch (const std::length_error&) {
        return failed(MMT_ERROR_NO_MEMORY, "the input is too large: a buffer it needs exceeds the largest size");
    } catch (const std::exception& e) {
        return failed(MMT_ERROR_INTERNAL, e.what());
    } catch (...) {
        return failed(MMT_ERROR_INTERNAL, "an unknown exception");
    }
}

// `count` zeroed T from malloc, for a result the caller frees with the library's *_free.
template <class T>
T* allocate(std::size_t count) {
    if (count == 0) return nullptr;
    void* p = std::calloc(count, sizeof(T));
    if (!p) throw std::bad_alloc();
    return static_cast<T*>(p);
}

char* copy_string(const std::string& s) {
    char* out = allocate<char>(s.size() + 1);
    std::memcpy(out, s.data(), s.size());
    return out;
}

// A result under construction: freed by `release` unless handed to the caller.
template <class C>
class building {
public:
    explicit building(void (*release)(C*)) : release_(release) {}
    building(const building&) = delete;
    building& operator=(const building&) = delete;
    ~building() {
        if (release_) release_(&value);
    }
    void hand_to(C* out) {
        *out = value;
        release_ = nullptr;
    }
    C value{};

private:
    void (*release_)(C*);
};

// An mmt_precision; `where` names the caller in the error.
mmt::precision precision_of(int precision, const char* where) {
    switch (precision) {
        case MMT_PRECISION_F32: return mmt::precision::f32;
        case MMT_PRECISION_BF16: return mmt::precision::bf16;
        case MMT_PRECISION_INT8: return mmt::precision::int8;
        default: mmt::fail<mmt::input_error>(where, ": expected a precision of MMT_PRECISION_F32, _BF16 or _INT8, got ", precision);
    }
}

mmt::load_options load_options_of(const mmt_load_options* o) {
    if (!o) return {};
    mmt::load_options options;
    options.linear = precision_of(o->precision, "load options");
    if (o->language) options.target_lang = o->language;
    if (o->module_precision) options.module_precision = mmt::parse_module_precision(o->module_precision, "load options: module_precision");
    return options;
}

mmt::io::rgb_image image_of(const mmt_image& image, const std::string& where) {
    if (image.width == 0 || image.height == 0)
        mmt::fail<mmt::input_error>(where, ": expected an image of at least 1x1 pixels, got ", image.width, "x", image.height);
    if (image.width > mmt::io::image_limits{}.max_pixels / image.height)
        mmt::fail<mmt::input_error>(where, ": ", image.width, "x", image.height, " pixels, more than the limit of ",
                                    mmt::io::image_limits{}.max_pixels);
    if (!image.pixels) throw argument_error(where + ": pixels is NULL");
    mmt::io::rgb_image out;
    out.width = image.width;
    out.height = image.height;
    out.pixels.assign(image.pixels, image.pixels + image.width * image.height * 3);
    return out;
}

std::vector<std::string> strings_of(const char* const* strings, std::size_t count, const char* function, const char* argument) {
    if (count) require(strings, function, argument);
    std::vector<std::string> out;
    for (std::size_t i = 0; i < count; ++i) {
        if (!strings[i]) throw argument_error(std::string(function) + ": " + argument + "[" + std::to_string(i) + "] is NULL");
        out.emplace_back(strings[i]);
    }
    return out;
}

void matrix_of(const mmt::tensor<2>& t, mmt_matrix* out) {
    building<mmt_matrix> m(mmt_matrix_free);
    m.value.rows = t.shape(0);
    m.value.cols = t.shape(1);
    m.value.data = allocate<float>(t.size());
    std::copy(t.begin(), t.end(), m.value.data);
    m.hand_to(out);
}

template <class Scores>
void fill_label_scores(const Scores& scores, mmt_label_scores& out) {
    out.items = allocate<mmt_label_score>(scores.size());
    out.count = scores.size();
    for (std::size_t i = 0; i < scores.size(); ++i) {
        out.items[i].label = copy_string(scores[i].label);
        out.items[i].score = scores[i].score;
    }
}

void transcription_of(const mmt::pipelines::transcription& t, mmt_transcription* out) {
    building<mmt_transcription> r(mmt_transcription_free);
    r.value.text = copy_string(t.text);
    r.value.chunks = allocate<mmt_timed_text>(t.chunks.size());
    r.value.chunk_count = t.chunks.size();
    for (std::size_t i = 0; i < t.chunks.size(); ++i)
        r.value.chunks[i] = {copy_string(t.chunks[i].text), t.chunks[i].start, t.chunks[i].end};
    r.hand_to(out);
}

mmt::pipelines::transcription_options transcription_options_of(const mmt_transcribe_options* o) {
    mmt::pipelines::transcription_options options;
    if (!o) return options;
    options.chunk_length_s = o->chunk_length_s;
    if (o->stride_length_s > 0) options.stride_length_s = o->stride_length_s;
    switch (o->timestamps) {
        case MMT_TIMESTAMPS_NONE: options.timestamps = mmt::pipelines::timestamp_level::none; break;
        case MMT_TIMESTAMPS_WORD: options.timestamps = mmt::pipelines::timestamp_level::word; break;
        case MMT_TIMESTAMPS_CHAR: options.timestamps = mmt::pipelines::timestamp_level::character; break;
        default: mmt::fail<mmt::input_error>("transcribe options: expected timestamps NONE, WORD or CHAR, got ", int(o->timestamps));
    }
    return options;
}

mmt::pipelines::ocr_document document_of(const mmt_document_model& model, const mmt_document* d, const char* function) {
    require(d, function, "document");
    mmt::pipelines::ocr_document doc;
    doc.width = d->width;
    doc.height = d->height;
    doc.words = strings_of(d->words, d->word_count, function, "document->words");
    if (d->word_count) require(d->boxes, function, "document->boxes");
    for (std::size_t i = 0; i < d->word_count; ++i) doc.boxes.push_back({d->boxes[i][0], d->boxes[i][1], d->boxes[i][2], d->boxes[i][3]});
    if (d->page_image) model.pipeline.add_page(doc, image_of(*d->page_image, "the page image"), function);
    return doc;
}

template <class T>
mmt::dyn_tensor<T> dyn_tensor_of(const mmt_tensor_view& v) {
    std::vector<std::size_t> shape(v.shape, v.shape + v.rank);
    mmt::dyn_tensor<T> t = mmt::dyn_tensor<T>::from_shape(shape);
    if (t.size()) {
        if (!v.data) throw argument_error(std::string("mmt_model_forward: the data of input '") + v.name + "' is NULL");
        std::memcpy(t.data(), v.data, t.size() * sizeof(T));
    }
    return t;
}

}  // namespace

extern "C" {

const char* mmt_last_error(void) { return last_error.c_str(); }

const char* mmt_status_name(mmt_status status) {
    switch (status) {
        case MMT_OK: return "ok";
        case MMT_ERROR_IO: return "io";
        case MMT_ERROR_FORMAT: return "format";
        case MMT_ERROR_CONFIG: return "config";
        case MMT_ERROR_WEIGHT: return "weight";
        case MMT_ERROR_SHAPE: return "shape";
        case MMT_ERROR_INPUT: return "input";
        case MMT_ERROR_ARGUMENT: return "argument";
        case MMT_ERROR_NO_MEMORY: return "no_memory";
        case MMT_ERROR_INTERNAL: return "internal";
    }
    return "unknown";
}

const char* mmt_version(void) { return MMT_VERSION; }

// ---- Images ----

void mmt_decoded_image_free(mmt_decoded_image* image) {
    if (!image) return;
    std::free(image->pixels);
    *image = {};
}

mmt_image mmt_decoded_image_view(const mmt_decoded_image* image) {
    return image ? mmt_image{image->pixels, image->width, image->height} : mmt_image{};
}

namespace {
void decoded_image_of(const mmt::io::rgb_image& image, mmt_decoded_image* out) {
    building<mmt_decoded_image> r(mmt_decoded_image_free);
    r.value.pixels = allocate<std::uint8_t>(image.pixels.size());
    std::copy(image.pixels.begin(), image.pixels.end(), r.value.pixels);
    r.value.width = image.width;
    r.value.height = image.height;
    r.hand_to(out);
}
}  // namespace

mmt_status mmt_image_read(const char* path, mmt_decoded_image* out) {
    return guarded([&] {
        require(path, "mmt_image_read", "path");
        require(out, "mmt_image_read", "out");
        *out = {};
        decoded_image_of(mmt::io::read_image(path), out);
    });
}

mmt_status mmt_image_decode(const uint8_t* bytes, size_t size, mmt_decoded_image* out) {
    return guarded([&] {
        if (size) require(bytes, "mmt_image_decode", "bytes");
        require(out, "mmt_image_decode", "out");
        *out = {};
        decoded_image_of(mmt::io::decode_image(bytes, size, "the image bytes"), out);
    });
}

// ---- Embeddings ----

void mmt_matrix_free(mmt_matrix* matrix) {
    if (!matrix) return;
    std::free(matrix->data);
    *matrix = {};
}

mmt_status mmt_embedder_load(const char* model_dir, const mmt_load_options* options, mmt_embedder** out) {
    return guarded([&] {
        require(model_dir, "mmt_embedder_load", "model_dir");
        require(out, "mmt_embedder_load", "out");
        *out = nullptr;
        *out = new mmt_embedder{mmt::pipelines::text_image_embedder_from_pretrained(model_dir, load_options_of(options)),
                                mmt::pipelines::index_format::model_name(model_dir)};
    });
}

void mmt_embedder_free(mmt_embedder* embedder) { delete embedder; }

mmt_status mmt_embed_texts(const mmt_embedder* embedder, const char* const* texts, size_t count, mmt_matrix* out) {
    return guarded([&] {
        require(embedder, "mmt_embed_texts", "embedder");
        require(out, "mmt_embed_texts", "out");
        *out = {};
        matrix_of(embedder->pipeline->embed_texts(strings_of(texts, count, "mmt_embed_texts", "texts")), out);
    });
}

mmt_status mmt_embed_images(const mmt_embedder* embedder, const mmt_image* images, size_t count, mmt_matrix* out) {
    return guarded([&] {
        require(embedder, "mmt_embed_images", "embedder");
        require(out, "mmt_embed_images", "out");
        *out = {};
        if (count) require(images, "mmt_embed_images", "images");
        std::vector<mmt::io::rgb_image> decoded;
        for (std::size_t i = 0; i < count; ++i) decoded.push_back(image_of(images[i], "mmt_embed_images: image " + std::to_string(i)));
        matrix_of(embedder->pipeline->embed_images(decoded), out);
    });
}

void mmt_label_scores_free(mmt_label_scores* scores) {
    if (!scores) return;
    for (std::size_t i = 0; i < scores->count; ++i) std::free(scores->items[i].label);
    std::free(scores->items);
    *scores = {};
}

mmt_status mmt_classify_image(const mmt_embedder* embedder, const mmt_image* image, const char* const* labels, size_t label_count,
                              const char* hypothesis_template, mmt_label_scores* out) {
    return guarded([&] {
        require(embedder, "mmt_classify_image", "embedder");
        require(image, "mmt_classify_image", "image");
        require(out, "mmt_classify_image", "out");
        *out = {};
        const auto scores = mmt::pipelines::classify_image(
            *embedder->pipeline, image_of(*image, "mmt_classify_image: the image"), strings_of(labels, label_count, "mmt_classify_image", "labels"),
            hypothesis_template ? hypothesis_template : mmt::pipelines::default_hypothesis_template);
        building<mmt_label_scores> r(mmt_label_scores_free);
        fill_label_scores(scores, r.value);
        r.hand_to(out);
    });
}

mmt_status mmt_embed_collection(const mmt_embedder* embedder, const mmt_collection_options* options, mmt_collection_progress* out) {
    return guarded([&] {
        require(embedder, "mmt_embed_collection", "embedder");
        require(options, "mmt_embed_collection", "options");
        require(out, "mmt_embed_collection", "out");
        *out = {};
        require(options->out, "mmt_embed_collection", "options->out");
        if (!!options->images + !!options->manifest + !!options->texts != 1)
            mmt::fail<mmt::input_error>("mmt_embed_collection: expected exactly one of images, manifest and texts");
        std::unique_ptr<mmt::pipelines::collection_source> source;
        if (options->images) source = std::make_unique<mmt::pipelines::image_folder>(options->images);
        else if (options->manifest) source = std::make_unique<mmt::pipelines::image_manifest>(options->manifest);
        else source = std::make_unique<mmt::pipelines::text_lines>(options->texts);
        mmt::pipelines::collection_options run;
        if (options->batch_size) run.batch_size = options->batch_size;
        if (options->inputs_per_shard) run.inputs_per_shard = options->inputs_per_shard;
        if (options->part_index || options->part_count) {
            if (options->part_index == 0 || options->part_index > options->part_count)
                mmt::fail<mmt::input_error>("mmt_embed_collection: part ", options->part_index, " of ", options->part_count,
                                            ": expected K of N with 1 <= K <= N");
            run.part = {options->part_index, options->part_count};
        }
        run.resume = options->resume != 0;
        if (options->decode_threads) run.decode_threads = options->decode_threads;
        const auto done = mmt::pipelines::embed_collection(*embedder->pipeline, *source, embedder->model_name, options->out, run);
        *out = {done.done, done.total, done.kept, done.failed};
    });
}

// ---- Speech recognition ----

void mmt_transcription_free(mmt_transcription* transcription) {
    if (!transcription) return;
    std::free(transcription->text);
    for (std::size_t i = 0; i < transcription->chunk_count; ++i) std::free(transcription->chunks[i].text);
    std::free(transcription->chunks);
    *transcription = {};
}

mmt_status mmt_speech_recognizer_load(const char* model_dir, const mmt_load_options* options, mmt_speech_recognizer** out) {
    return guarded([&] {
        require(model_dir, "mmt_speech_recognizer_load", "model_dir");
        require(out, "mmt_speech_recognizer_load", "out");
        *out = nullptr;
        *out = new mmt_speech_recognizer{mmt::pipelines::speech_recognizer::from_pretrained(model_dir, load_options_of(options))};
    });
}

void mmt_speech_recognizer_free(mmt_speech_recognizer* recognizer) { delete recognizer; }

int mmt_speech_recognizer_sampling_rate(const mmt_speech_recognizer* recognizer) {
    return recognizer ? recognizer->pipeline.sampling_rate() : 0;
}

mmt_status mmt_transcribe(const mmt_speech_recognizer* recognizer, const float* samples, size_t sample_count, int sample_rate,
                          const mmt_transcribe_options* options, mmt_transcription* out) {
    return guarded([&] {
        require(recognizer, "mmt_transcribe", "recognizer");
        require(out, "mmt_transcribe", "out");
        *out = {};
        if (sample_count) require(samples, "mmt_transcribe", "samples");
        std::vector<float> audio(samples, samples + sample_count);
        transcription_of(recognizer->pipeline.transcribe(std::move(audio), sample_rate, transcription_options_of(options)), out);
    });
}

mmt_status mmt_transcribe_file(const mmt_speech_recognizer* recognizer, const char* wav_path, const mmt_transcribe_options* options,
                               mmt_transcription* out) {
    return guarded([&] {
        require(recognizer, "mmt_transcribe_file", "recognizer");
        require(wav_path, "mmt_transcribe_file", "wav_path");
        require(out, "mmt_transcribe_file", "out");
        *out = {};
        transcription_of(recognizer->pipeline.transcribe_file(wav_path, transcription_options_of(options)), out);
    });
}

// ---- Documents ----

void mmt_word_labels_free(mmt_word_labels* labels) {
    if (!labels) return;
    for (std::size_t i = 0; i < labels->count; ++i) {
        std::free(labels->items[i].text);
        std::free(labels->items[i].label);
    }
    std::free(labels->items);
    *labels = {};
}

void mmt_document_label_free(mmt_document_label* label) {
    if (!label) return;
    std::free(label->label);
    mmt_label_scores_free(&label->labels);
    mmt_label_scores_free(&label->scores);
    *label = {};
}

mmt_status mmt_document_model_load(const char* model_dir, const mmt_load_options* options, mmt_document_model** out) {
    return guarded([&] {
        require(model_dir, "mmt_document_model_load", "model_dir");
        require(out, "mmt_document_model_load", "out");
        *out = nullptr;
        *out = new mmt_document_model{mmt::pipelines::document_pipeline::from_pretrained(model_dir, load_options_of(options))};
    });
}

void mmt_document_model_free(mmt_document_model* model) { delete model; }

mmt_status mmt_tag_document(const mmt_document_model* model, const mmt_document* document, mmt_word_labels* out) {
    return guarded([&] {
        require(model, "mmt_tag_document", "model");
        require(out, "mmt_tag_document", "out");
        *out = {};
        const auto tags = model->pipeline.model().tag(document_of(*model, document, "mmt_tag_document"));
        building<mmt_word_labels> r(mmt_word_labels_free);
        r.value.items = allocate<mmt_word_label>(tags.size());
        r.value.count = tags.size();
        for (std::size_t i = 0; i < tags.size(); ++i) {
            mmt_word_label& w = r.value.items[i];
            w.index = tags[i].index;
            w.text = copy_string(tags[i].text);
            std::copy(tags[i].box.begin(), tags[i].box.end(), w.box);
            w.label = copy_string(tags[i].label);
            w.score = tags[i].score;
        }
        r.hand_to(out);
    });
}

mmt_status mmt_classify_document(const mmt_document_model* model, const mmt_document* document, mmt_document_label* out) {
    return guarded([&] {
        require(model, "mmt_classify_document", "model");
        require(out, "mmt_classify_document", "out");
        *out = {};
        const auto result = model->pipeline.model().classify(document_of(*model, document, "mmt_classify_document"));
        building<mmt_document_label> r(mmt_document_label_free);
        r.value.label = copy_string(result.label);
        r.value.score = result.score;
        r.value.multi_label = result.function == mmt::pipelines::score_function::sigmoid;
        fill_label_scores(result.labels, r.value.labels);
        fill_label_scores(result.probabilities, r.value.scores);
        r.hand_to(out);
    });
}

// ---- Any checkpoint ----

void mmt_tensors_free(mmt_tensors* tensors) {
    if (!tensors) return;
    for (std::size_t i = 0; i < tensors->count; ++i) {
        std::free(tensors->items[i].name);
        std::free(tensors->items[i].data);
        std::free(tensors->items[i].shape);
    }
    std::free(tensors->items);
    *tensors = {};
}

mmt_status mmt_model_load(const char* model_dir, const mmt_load_options* options, mmt_model** out) {
    return guarded([&] {
        require(model_dir, "mmt_model_load", "model_dir");
        require(out, "mmt_model_load", "out");
        *out = nullptr;
        mmt::auto_model model = mmt::auto_model::from_pretrained(model_dir, load_options_of(options));
        std::string architecture = model.architecture();
        *out = new mmt_model{std::move(model), std::move(architecture)};
    });
}

void mmt_model_free(mmt_model* model) { delete model; }

const char* mmt_model_architecture(const mmt_model* model) { return model ? model->architecture.c_str() : ""; }

mmt_status mmt_model_forward(const mmt_model* model, const mmt_tensor_view* inputs, size_t input_count, mmt_tensors* out) {
    return guarded([&] {
        require(model, "mmt_model_forward", "model");
        require(out, "mmt_model_forward", "out");
        *out = {};
        if (input_count) require(inputs, "mmt_model_forward", "inputs");
        mmt::named_inputs named;
        for (std::size_t i = 0; i < input_count; ++i) {
            const mmt_tensor_view& v = inputs[i];
            if (!v.name) throw argument_error("mmt_model_forward: the name of input " + std::to_string(i) + " is NULL");
            if (v.rank) require(v.shape, "mmt_model_forward", "an input's shape");
            if (named.has(v.name)) mmt::fail<mmt::input_error>("mmt_model_forward: input '", v.name, "' is given twice");
            if (v.dtype == MMT_FLOAT32) named.floats[v.name] = dyn_tensor_of<float>(v);
            else if (v.dtype == MMT_INT64) named.ints[v.name] = dyn_tensor_of<std::int64_t>(v);
            else mmt::fail<mmt::input_error>("mmt_model_forward: input '", v.name, "': expected dtype MMT_FLOAT32 or MMT_INT64, got ", int(v.dtype));
        }
        const mmt::named_outputs outputs = model->model.forward(named);
        building<mmt_tensors> r(mmt_tensors_free);
        r.value.items = allocate<mmt_tensor>(outputs.size());
        r.value.count = outputs.size();
        for (std::size_t i = 0; i < outputs.size(); ++i) {
            const auto& [name, t] = outputs[i];
            mmt_tensor& o = r.value.items[i];
            o.name = copy_string(name);
            o.rank = t.dimension();
            o.shape = allocate<std::size_t>(o.rank);
            std::copy(t.shape().begin(), t.shape().end(), o.shape);
            o.data = allocate<float>(t.size());
            std::copy(t.begin(), t.end(), o.data);
        }
        r.hand_to(out);
    });
}

mmt_status mmt_quantize(const char* model_dir, const char* out_dir, int precision, size_t* quantized) {
    return mmt_quantize_modules(model_dir, out_dir, precision, nullptr, quantized);
}

mmt_status mmt_quantize_modules(const char* model_dir, const char* out_dir, int precision, const char* module_precision, size_t* quantized) {
    return guarded([&] {
        require(model_dir, "mmt_quantize", "model_dir");
        require(out_dir, "mmt_quantize", "out_dir");
        const mmt::module_precisions modules =
            module_precision ? mmt::parse_module_precision(module_precision, "mmt_quantize: module_precision") : mmt::module_precisions{};
        const std::size_t n = mmt::quantize_pretrained(model_dir, out_dir, precision_of(precision, "mmt_quantize"), modules);
        if (quantized) *quantized = n;
    });
}

}  // extern "C"
