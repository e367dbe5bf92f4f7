// mmt._mmt: the Python module, over the C API (include/mmt/c/mmt.h), so that Python
// runs exactly the library's pipelines. Every call into the library releases the GIL:
// Python threads share one loaded model. Failures raise mmt.Error's subclass for the
// library's error kind, with the library's message.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mmt/c/mmt.h"

namespace py = pybind11;

namespace {

// mmt.Error and one subclass per mmt_status, filled in by the module's init.
std::map<mmt_status, py::object>& error_classes() {
    static auto* classes = new std::map<mmt_status, py::object>();  // never destroyed: outlives the interpreter's teardown
    return *classes;
}

// Runs a C API call without the GIL; a failure raises its Python exception.
template <class F>
void call(F&& f) {
    mmt_status status;
    std::string message;
    {
        py::gil_scoped_release release;
        status = f();
        if (status != MMT_OK) message = mmt_last_error();
    }
    if (status == MMT_OK) return;
    auto it = error_classes().find(status);
    PyErr_SetString(it != error_classes().end() ? it->second.ptr() : PyExc_RuntimeError, message.c_str());
    throw py::error_already_set();
}

// A C result struct, freed by its *_free when the Python value has been made from it.
template <class T, void (*Free)(T*)>
struct owned {
    T value{};
    owned() = default;
    owned(const owned&) = delete;
    owned& operator=(const owned&) = delete;
    ~owned() { Free(&value); }
};

mmt_precision precision_code(const std::string& precision) {
    if (precision == "f32") return MMT_PRECISION_F32;
    if (precision == "bf16") return MMT_PRECISION_BF16;
    if (precision == "int8") return MMT_PRECISION_INT8;
    throw py::value_error("precision: expected \"f32\", \"bf16\" or \"int8\", got \"" + precision + "\"");
}

// module_precision's text form ("feature_extractor=bf16,..."), from a dict in its
// order: the first pair that matches a layer decides.
std::string module_precision_text(const py::object& modules) {
    std::string text;
    if (modules.is_none()) return text;
    if (!py::isinstance<py::dict>(modules))
        throw py::type_error("module_precision: expected a dict {module: precision} or None, got " + std::string(py::str(modules.get_type())));
    for (const auto& [module, precision] : py::reinterpret_borrow<py::dict>(modules))
        text += (text.empty() ? "" : ",") + py::cast<std::string>(module) + "=" + py::cast<std::string>(precision);
    return text;
}

// mmt_load_options with the strings it points to.
struct load_request {
    std::optional<std::string> language;
    std::string modules;
    mmt_load_options options;
    load_request(const std::string& precision, std::optional<std::string> lang, const py::object& module_precision)
        : language(std::move(lang)), modules(module_precision_text(module_precision)) {
        options = {precision_code(precision), language ? language->c_str() : nullptr, modules.empty() ? nullptr : modules.c_str()};
    }
    load_request(const load_request&) = delete;
};

std::string path_string(const py::handle& path) { return py::str(py::module_::import("os").attr("fspath")(path)); }

bool is_path(const py::handle& h) { return py::isinstance<py::str>(h) || py::hasattr(h, "__fspath__"); }

// An image as the library takes it: a path (str or os.PathLike), encoded bytes (PNG or
// JPEG), or a uint8 array [height, width, 3].
class image_argument {
public:
    explicit image_argument(const py::handle& h) {
        if (is_path(h)) {
            const std::string path = path_string(h);
            call([&] { return mmt_image_read(path.c_str(), &decoded_.value); });
            view_ = mmt_decoded_image_view(&decoded_.value);
        } else if (py::isinstance<py::bytes>(h)) {
            const std::string bytes = h.cast<std::string>();
            call([&] { return mmt_image_decode(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), &decoded_.value); });
            view_ = mmt_decoded_image_view(&decoded_.value);
        } else {
            if (!py::isinstance<py::array>(h))
                throw py::type_error("an image: expected a path, PNG/JPEG bytes or a numpy uint8 array [height, width, 3], got " +
                                     std::string(py::str(h.get_type())));
            const auto a = py::reinterpret_borrow<py::array>(h);
            if (!a.dtype().is(py::dtype::of<std::uint8_t>()) || a.ndim() != 3 || a.shape(2) != 3)
                throw py::value_error("an image array: expected uint8 [height, width, 3], got " + std::string(py::str(a.dtype())) +
                                      " of shape " + std::string(py::str(py::tuple(py::cast(std::vector<py::ssize_t>(a.shape(), a.shape() + a.ndim()))))));
            pixels_ = py::array_t<std::uint8_t, py::array::c_style | py::array::forcecast>::ensure(a);
            view_ = {pixels_.data(), static_cast<std::size_t>(a.shape(1)), static_cast<std::size_t>(a.shape(0))};
        }
    }
    const mmt_image& view() const { return view_; }

private:
    owned<mmt_decoded_image, mmt_decoded_image_free> decoded_;
    py::array_t<std::uint8_t, py::array::c_style | py::array::forcecast> pixels_;
    mmt_image view_{};
};

std::vector<const char*> c_strings(const std::vector<std::string>& strings) {
    std::vector<const char*> out;
    for (const auto& s : strings) out.push_back(s.c_str());
    return out;
}

py::array_t<float> matrix_array(const mmt_matrix& m) {
    py::array_t<float> out({m.rows, m.cols});
    std::copy(m.data, m.data + m.rows * m.cols, out.mutable_data());
    return out;
}

py::list label_scores_list(const mmt_label_scores& scores) {
    py::list out;
    for (std::size_t i = 0; i < scores.count; ++i) out.append(py::dict(py::arg("score") = scores.items[i].score, py::arg("label") = scores.items[i].label));
    return out;
}

// ---- Embeddings ----

class embedder {
public:
    embedder(const py::object& model_dir, const std::string& precision, const py::object& module_precision) {
        const load_request r(precision, std::nullopt, module_precision);
        const std::string dir = path_string(model_dir);
        call([&] { return mmt_embedder_load(dir.c_str(), &r.options, &handle_); });
    }
    ~embedder() { mmt_embedder_free(handle_); }

    py::array_t<float> embed_texts(const std::vector<std::string>& texts) const {
        const auto strings = c_strings(texts);
        owned<mmt_matrix, mmt_matrix_free> m;
        call([&] { return mmt_embed_texts(handle_, strings.data(), strings.size(), &m.value); });
        return matrix_array(m.value);
    }

    py::array_t<float> embed_images(const py::sequence& images) const {
        std::vector<std::unique_ptr<image_argument>> arguments;
        std::vector<mmt_image> views;
        for (const auto& image : images) {
            arguments.push_back(std::make_unique<image_argument>(image));
            views.push_back(arguments.back()->view());
        }
        owned<mmt_matrix, mmt_matrix_free> m;
        call([&] { return mmt_embed_images(handle_, views.data(), views.size(), &m.value); });
        return matrix_array(m.value);
    }

    py::list classify_image(const py::handle& image, const std::vector<std::string>& labels,
                            const std::optional<std::string>& hypothesis_template) const {
        const image_argument argument(image);
        const auto strings = c_strings(labels);
        owned<mmt_label_scores, mmt_label_scores_free> scores;
        call([&] {
            return mmt_classify_image(handle_, &argument.view(), strings.data(), strings.size(),
                                      hypothesis_template ? hypothesis_template->c_str() : nullptr, &scores.value);
        });
        return label_scores_list(scores.value);
    }

    // `mmt embed-collection`: {"done", "total", "kept", "failed"} of the part.
    py::dict embed_collection(const py::object& out, const py::object& images, const py::object& manifest, const py::object& texts,
                              std::size_t batch_size, std::size_t inputs_per_shard, const std::optional<std::pair<std::size_t, std::size_t>>& part,
                              bool resume, std::size_t decode_threads) const {
        const auto optional_path = [](const py::object& p) { return p.is_none() ? std::optional<std::string>() : path_string(p); };
        const auto in_images = optional_path(images), in_manifest = optional_path(manifest), in_texts = optional_path(texts);
        const std::string out_dir = path_string(out);
        const auto c_str = [](const std::optional<std::string>& s) { return s ? s->c_str() : nullptr; };
        const mmt_collection_options o{c_str(in_images), c_str(in_manifest), c_str(in_texts), out_dir.c_str(), batch_size, inputs_per_shard,
                                       part ? part->first : 0, part ? part->second : 0, resume, decode_threads};
        mmt_collection_progress p{};
        call([&] { return mmt_embed_collection(handle_, &o, &p); });
        return py::dict(py::arg("done") = p.done, py::arg("total") = p.total, py::arg("kept") = p.kept, py::arg("failed") = p.failed);
    }

private:
    mmt_embedder* handle_ = nullptr;
};

// ---- Speech recognition ----

class speech_recognizer {
public:
    speech_recognizer(const py::object& model_dir, const std::string& precision, const std::optional<std::string>& language,
                      const py::object& module_precision) {
        const load_request r(precision, language, module_precision);
        const std::string dir = path_string(model_dir);
        call([&] { return mmt_speech_recognizer_load(dir.c_str(), &r.options, &handle_); });
    }
    ~speech_recognizer() { mmt_speech_recognizer_free(handle_); }

    int sampling_rate() const { return mmt_speech_recognizer_sampling_rate(handle_); }

    // HF's {"text", ["chunks": [{"text", "timestamp": (start, end)}]]}.
    py::dict transcribe(const py::handle& audio, std::optional<int> sampling_rate, double chunk_length_s,
                        std::optional<double> stride_length_s, const py::object& return_timestamps) const {
        mmt_transcribe_options o{chunk_length_s, stride_length_s.value_or(0), MMT_TIMESTAMPS_NONE};
        if (!return_timestamps.is_none()) {
            const std::string level = py::str(return_timestamps);
            if (level == "word") o.timestamps = MMT_TIMESTAMPS_WORD;
            else if (level == "char") o.timestamps = MMT_TIMESTAMPS_CHAR;
            else throw py::value_error("return_timestamps: expected None, \"word\" or \"char\", got \"" + level + "\"");
        }
        owned<mmt_transcription, mmt_transcription_free> t;
        if (is_path(audio)) {
            if (sampling_rate) throw py::value_error("sampling_rate: a WAV file says its own rate; give it only with samples");
            const std::string path = path_string(audio);
            call([&] { return mmt_transcribe_file(handle_, path.c_str(), &o, &t.value); });
        } else {
            const auto samples = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(audio);
            if (!samples || samples.ndim() != 1)
                throw py::value_error("audio: expected a WAV path or mono samples, a 1-D float array");
            const int rate = sampling_rate.value_or(this->sampling_rate());
            call([&] { return mmt_transcribe(handle_, samples.data(), samples.size(), rate, &o, &t.value); });
        }
        py::dict out;
        out["text"] = t.value.text;
        if (o.timestamps != MMT_TIMESTAMPS_NONE) {
            py::list chunks;
            for (std::size_t i = 0; i < t.value.chunk_count; ++i) {
                const mmt_timed_text& c = t.value.chunks[i];
                chunks.append(py::dict(py::arg("text") = c.text, py::arg("timestamp") = py::make_tuple(c.start, c.end)));
            }
            out["chunks"] = chunks;
        }
        return out;
    }

private:
    mmt_speech_recognizer* handle_ = nullptr;
};

// ---- Documents ----

// The OCR document as `mmt tag-document` reads it: {"width", "height", "words": [{"text", "box"}]}.
struct document_argument {
    document_argument(const py::dict& document, const py::object& page_image) {
        for (const char* key : {"width", "height", "words"})
            if (!document.contains(key)) throw py::key_error(std::string("document: expected \"") + key + "\"");
        for (const auto& w : document["words"].cast<py::list>()) {
            const auto word = w.cast<py::dict>();
            texts.push_back(word["text"].cast<std::string>());
            const auto box = word["box"].cast<std::vector<double>>();
            if (box.size() != 4) throw py::value_error("document: word \"" + texts.back() + "\": expected a box [x0, y0, x1, y1]");
            boxes.push_back({box[0], box[1], box[2], box[3]});
        }
        words = c_strings(texts);
        if (!page_image.is_none()) image.emplace(page_image);
        c = {document["width"].cast<double>(), document["height"].cast<double>(), words.data(),
             reinterpret_cast<const double(*)[4]>(boxes.data()), texts.size(), image ? &image->view() : nullptr};
    }
    std::vector<std::string> texts;
    std::vector<const char*> words;
    std::vector<std::array<double, 4>> boxes;
    std::optional<image_argument> image;
    mmt_document c{};
};

class document_model {
public:
    document_model(const py::object& model_dir, const std::string& precision, const py::object& module_precision) {
        const load_request r(precision, std::nullopt, module_precision);
        const std::string dir = path_string(model_dir);
        call([&] { return mmt_document_model_load(dir.c_str(), &r.options, &handle_); });
    }
    ~document_model() { mmt_document_model_free(handle_); }

    // [{"index", "text", "box", "label", "score"}, ...], as `mmt tag-document --json`'s "words".
    py::list tag(const py::dict& document, const py::object& image) const {
        const document_argument d(document, image);
        owned<mmt_word_labels, mmt_word_labels_free> tags;
        call([&] { return mmt_tag_document(handle_, &d.c, &tags.value); });
        py::list out;
        for (std::size_t i = 0; i < tags.value.count; ++i) {
            const mmt_word_label& w = tags.value.items[i];
            out.append(py::dict(py::arg("index") = w.index, py::arg("text") = w.text,
                                py::arg("box") = std::vector<std::int64_t>(w.box, w.box + 4), py::arg("label") = w.label,
                                py::arg("score") = w.score));
        }
        return out;
    }

    // {"label", "score", "multi_label", "labels", "scores"}: scores as classify_image's, best first.
    py::dict classify(const py::dict& document, const py::object& image) const {
        const document_argument d(document, image);
        owned<mmt_document_label, mmt_document_label_free> result;
        call([&] { return mmt_classify_document(handle_, &d.c, &result.value); });
        py::list labels;
        for (std::size_t i = 0; i < result.value.labels.count; ++i) labels.append(result.value.labels.items[i].label);
        return py::dict(py::arg("label") = result.value.label, py::arg("score") = result.value.score,
                        py::arg("multi_label") = bool(result.value.multi_label), py::arg("labels") = labels,
                        py::arg("scores") = label_scores_list(result.value.scores));
    }

private:
    mmt_document_model* handle_ = nullptr;
};

// ---- Any checkpoint ----

class auto_model {
public:
    auto_model(const py::object& model_dir, const std::string& precision, const std::optional<std::string>& language,
               const py::object& module_precision) {
        const load_request r(precision, language, module_precision);
        const std::string dir = path_string(model_dir);
        call([&] { return mmt_model_load(dir.c_str(), &r.options, &handle_); });
    }
    ~auto_model() { mmt_model_free(handle_); }

    std::string architecture() const { return mmt_model_architecture(handle_); }

    // {argument: array} -> {output: float32 array}; integer and bool arrays go in as int64
    // (ids, masks, boxes), floating ones as float32 (pixels, audio).
    py::dict forward(const py::dict& inputs) const {
        std::vector<std::string> names;
        std::vector<py::array> arrays;
        std::vector<std::vector<std::size_t>> shapes;
        std::vector<mmt_tensor_view> views;
        for (const auto& [key, value] : inputs) {
            names.push_back(key.cast<std::string>());
            const auto a = py::array::ensure(value);
            if (!a) throw py::type_error("forward: input \"" + names.back() + "\": expected an array");
            const char kind = a.dtype().kind();
            if (kind == 'f') arrays.push_back(py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(a));
            else if (kind == 'i' || kind == 'u' || kind == 'b') arrays.push_back(py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>::ensure(a));
            else throw py::type_error("forward: input \"" + names.back() + "\": expected a numeric array, got dtype " + std::string(py::str(a.dtype())));
            shapes.emplace_back(a.shape(), a.shape() + a.ndim());
        }
        for (std::size_t i = 0; i < names.size(); ++i)
            views.push_back({names[i].c_str(), arrays[i].dtype().kind() == 'f' ? MMT_FLOAT32 : MMT_INT64, arrays[i].data(), shapes[i].data(),
                             shapes[i].size()});
        owned<mmt_tensors, mmt_tensors_free> outputs;
        call([&] { return mmt_model_forward(handle_, views.data(), views.size(), &outputs.value); });
        py::dict out;
        for (std::size_t i = 0; i < outputs.value.count; ++i) {
            const mmt_tensor& t = outputs.value.items[i];
            py::array_t<float> a(std::vector<py::ssize_t>(t.shape, t.shape + t.rank));
            std::copy(t.data, t.data + a.size(), a.mutable_data());
            out[py::str(t.name)] = a;
        }
        return out;
    }

private:
    mmt_model* handle_ = nullptr;
};

}  // namespace

PYBIND11_MODULE(_mmt, m) {
    m.doc() = "mmt: HuggingFace multi-modal transformers (CLIP, SigLIP, Chinese-CLIP, LayoutLM, Wav2Vec2, ...) in C++";
    m.attr("__version__") = mmt_version();

    const py::object base = py::reinterpret_steal<py::object>(PyErr_NewException("mmt.Error", PyExc_RuntimeError, nullptr));
    m.attr("Error") = base;
    const std::pair<mmt_status, const char*> kinds[] = {
        {MMT_ERROR_IO, "IoError"},         {MMT_ERROR_FORMAT, "FormatError"},     {MMT_ERROR_CONFIG, "ConfigError"},
        {MMT_ERROR_WEIGHT, "WeightError"}, {MMT_ERROR_SHAPE, "ShapeError"},       {MMT_ERROR_INPUT, "InputError"},
        {MMT_ERROR_ARGUMENT, "ArgumentError"}, {MMT_ERROR_NO_MEMORY, "NoMemoryError"}, {MMT_ERROR_INTERNAL, "InternalError"}};
    for (const auto& [status, name] : kinds) {
        const std::string qualified = std::string("mmt.") + name;
        auto cls = py::reinterpret_steal<py::object>(PyErr_NewException(qualified.c_str(), base.ptr(), nullptr));
        m.attr(name) = cls;
        error_classes()[status] = cls;
    }

    m.def(
        "read_image",
        [](const py::object& image) {
            const image_argument decoded(image);
            const mmt_image& v = decoded.view();
            py::array_t<std::uint8_t> out({v.height, v.width, std::size_t(3)});
            std::copy(v.pixels, v.pixels + v.height * v.width * 3, out.mutable_data());
            return out;
        },
        py::arg("image"), "A PNG or JPEG file (a path) or its bytes, decoded as the pipelines decode it: uint8 [height, width, 3]");

    py::class_<embedder>(m, "Embedder", "Texts and images into one embedding space (CLIP, SigLIP, Chinese-CLIP)")
        .def(py::init<const py::object&, const std::string&, const py::object&>(), py::arg("model_dir"), py::arg("precision") = "f32",
             py::arg("module_precision") = py::none())
        .def("embed_texts", &embedder::embed_texts, py::arg("texts"), "[len(texts), dim] float32, unit rows")
        .def("embed_images", &embedder::embed_images, py::arg("images"),
             "[len(images), dim] float32, unit rows; each image a path, PNG/JPEG bytes or a uint8 array [height, width, 3]")
        .def("classify_image", &embedder::classify_image, py::arg("image"), py::arg("candidate_labels"),
             py::arg("hypothesis_template") = py::none(),
             "HF's zero-shot-image-classification: [{\"score\", \"label\"}, ...], best first")
        .def("embed_collection", &embedder::embed_collection, py::arg("out"), py::kw_only(), py::arg("images") = py::none(),
             py::arg("manifest") = py::none(), py::arg("texts") = py::none(), py::arg("batch_size") = 0, py::arg("inputs_per_shard") = 0,
             py::arg("part") = py::none(), py::arg("resume") = false, py::arg("decode_threads") = 0,
             "`mmt embed-collection` into the index folder `out`: one of images (a folder), manifest (JSONL) or texts (a file); "
             "part=(K, N) for the K-th of N parts; 0 keeps a default. Returns {\"done\", \"total\", \"kept\", \"failed\"}");

    py::class_<speech_recognizer>(m, "SpeechRecognizer", "CTC speech recognition (Wav2Vec2, HuBERT, WavLM, Data2VecAudio)")
        .def(py::init<const py::object&, const std::string&, const std::optional<std::string>&, const py::object&>(), py::arg("model_dir"),
             py::arg("precision") = "f32", py::arg("language") = py::none(), py::arg("module_precision") = py::none())
        .def_property_readonly("sampling_rate", &speech_recognizer::sampling_rate)
        .def("transcribe", &speech_recognizer::transcribe, py::arg("audio"), py::arg("sampling_rate") = py::none(),
             py::arg("chunk_length_s") = 0.0, py::arg("stride_length_s") = py::none(), py::arg("return_timestamps") = py::none(),
             "HF's automatic-speech-recognition: audio is a WAV path or mono float samples at sampling_rate "
             "(default: the model's); return_timestamps None, \"word\" or \"char\"");

    py::class_<document_model>(m, "DocumentModel", "Words with boxes: tagging and classification (LayoutLM, LayoutLMv3, LiLT)")
        .def(py::init<const py::object&, const std::string&, const py::object&>(), py::arg("model_dir"), py::arg("precision") = "f32",
             py::arg("module_precision") = py::none())
        .def("tag", &document_model::tag, py::arg("document"), py::arg("image") = py::none(),
             "document: {\"width\", \"height\", \"words\": [{\"text\", \"box\": [x0, y0, x1, y1]}]} in pixels; image: the page")
        .def("classify", &document_model::classify, py::arg("document"), py::arg("image") = py::none());

    py::class_<auto_model>(m, "AutoModel", "Any supported checkpoint, run by HF's argument and output names")
        .def(py::init<const py::object&, const std::string&, const std::optional<std::string>&, const py::object&>(), py::arg("model_dir"),
             py::arg("precision") = "f32", py::arg("language") = py::none(), py::arg("module_precision") = py::none())
        .def_property_readonly("architecture", &auto_model::architecture)
        .def("forward", &auto_model::forward, py::arg("inputs"), "{argument: array} -> {output: float32 array}");

    m.def(
        "quantize",
        [](const py::object& model_dir, const py::object& out, const std::string& precision, const py::object& module_precision) {
            const int code = precision_code(precision);
            const std::string from = path_string(model_dir), to = path_string(out), modules = module_precision_text(module_precision);
            std::size_t quantized = 0;
            call([&] { return mmt_quantize_modules(from.c_str(), to.c_str(), code, modules.empty() ? nullptr : modules.c_str(), &quantized); });
            return quantized;
        },
        py::arg("model_dir"), py::arg("out"), py::arg("precision") = "int8", py::arg("module_precision") = py::none(),
        "`mmt quantize`: the weights stored once in \"int8\" or \"bf16\" in out, beside a copy of the model's other files, the\n"
        "modules of module_precision ({module: precision}) in their own; every load of out runs so. Returns the number of\n"
        "weights stored reduced.");
}
