// mmt worker: one model, loaded once, answering requests that arrive as JSON lines on
// stdin with one result line each on stdout, in the order asked and flushed line by
// line; the shape Spark's RDD.pipe, job arrays and GNU parallel use. A request that
// cannot be served gets {"id", "error"} and the worker carries on; it exits 0 at the
// end of its input.
//
// Every request has an "id" (any JSON value, echoed) and its input:
//   embed              "text": T, or an image as "path": FILE or "bytes": BASE64
//                      -> {"id", "embedding": [...]} (unit length)
//   classify-image     an image, "labels": [...], optional "template"
//                      -> {"id", "labels": [{"label", "score"}, ...]} best first
//   transcribe         a WAV as "path" or "bytes", optional "timestamps": "word"|"char",
//                      "chunk_seconds" -> {"id", "text", ["chunks"]}
//   tag-document,      an OCR document as "document": {...} or "path": FILE, optional
//   classify-document  page image as "image": FILE or "image_bytes": BASE64
//                      -> {"id", "words": [...]} / {"id", "label", "score", ...}
// --batch-size N reads N requests before answering them: embed runs their texts and
// their images through the model together.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "commands.hpp"
#include "option_checks.hpp"
#include "results_json.hpp"
#include "speech_output.hpp"
#include "mmt/core/error.hpp"
#include "mmt/core/finite.hpp"
#include "mmt/io/base64.hpp"
#include "mmt/io/image.hpp"
#include "mmt/io/json.hpp"
#include "mmt/io/mapped_file.hpp"
#include "mmt/io/wav.hpp"
#include "mmt/pipelines/document_pipeline.hpp"
#include "mmt/pipelines/document_tagging.hpp"
#include "mmt/pipelines/text_image_embedders.hpp"
#include "mmt/pipelines/transcription.hpp"
#include "mmt/pipelines/zero_shot_image_classification.hpp"

namespace mmt::cli {

namespace {

// One request line, parsed; `where` names it in messages ("request 3").
struct request {
    io::json id;  // null until read
    io::json body;
    std::string where;
};

const io::json& member(const request& r, const char* key) {
    static const io::json none;
    const auto it = r.body.find(key);
    return it == r.body.end() ? none : *it;
}

std::string string_member(const request& r, const char* key) {
    const io::json& v = member(r, key);
    if (!v.is_string()) fail<input_error>(r.where, ": expected \"", key, "\" as a string, got ", v.is_null() ? "none" : v.dump());
    return v.get<std::string>();
}

// The bytes of the request's file: "path" (read here) or "bytes" (base64).
std::vector<std::uint8_t> payload(const request& r, const char* path_key, const char* bytes_key) {
    const bool by_path = !member(r, path_key).is_null(), by_bytes = !member(r, bytes_key).is_null();
    if (by_path == by_bytes) fail<input_error>(r.where, ": expected exactly one of \"", path_key, "\" and \"", bytes_key, "\"");
    if (by_bytes) return io::decode_base64(string_member(r, bytes_key), r.where + ": \"" + bytes_key + "\"");
    const std::string path = string_member(r, path_key);
    io::mapped_file file(path);
    return {file.data(), file.data() + file.size()};
}

// The request's image, decoded within `limits` (the model's, so that an image it could not
// resize is refused from its header).
io::rgb_image image_of(const request& r, const io::image_limits& limits, const char* path_key = "path", const char* bytes_key = "bytes") {
    const auto bytes = payload(r, path_key, bytes_key);
    return io::decode_image(bytes, r.where + ": the image", limits);
}

// What a task does with a group of requests: one result object per request, the "id"
// added by the caller; an exception for one request becomes its error line.
class task {
public:
    virtual ~task() = default;
    // Results in order; an entry left empty was answered with an error already in `errors`.
    virtual std::vector<io::ordered_json> run(const std::vector<request>& group, std::vector<std::string>& errors) const = 0;

protected:
    // Each request on its own, through `one`.
    template <class F>
    static std::vector<io::ordered_json> each(const std::vector<request>& group, std::vector<std::string>& errors, F one) {
        std::vector<io::ordered_json> out(group.size());
        for (std::size_t i = 0; i < group.size(); ++i) {
            try {
                out[i] = one(group[i]);
            } catch (const std::exception& e) {
                errors[i] = error_text(e, "worker");
            }
        }
        return out;
    }
};

class embed_task final : public task {
public:
    explicit embed_task(const std::filesystem::path& model) : embedder_(pipelines::text_image_embedder_from_pretrained(model, model_options())) {}

    std::vector<io::ordered_json> run(const std::vector<request>& group, std::vector<std::string>& errors) const override {
        std::vector<io::ordered_json> out(group.size());
        std::vector<std::size_t> text_at, image_at;  // request index of each text, image
        std::vector<std::string> texts;
        std::vector<io::rgb_image> images;
        for (std::size_t i = 0; i < group.size(); ++i) {
            try {
                if (!member(group[i], "text").is_null()) {
                    texts.push_back(string_member(group[i], "text"));
                    text_at.push_back(i);
                } else {
                    images.push_back(image_of(group[i], embedder_->image_limits()));
                    image_at.push_back(i);
                }
            } catch (const std::exception& e) {
                errors[i] = error_text(e, "worker");
            }
        }
        const auto fill = [&](const std::vector<std::size_t>& at, auto embed) {
            if (at.empty()) return;
            try {
                const tensor<2> e = embed();  // [at.size(), dim]
                check_finite(e, "worker: embeddings");
                for (std::size_t k = 0; k < at.size(); ++k)
                    out[at[k]] = {{"embedding", std::vector<float>(&e(k, 0), &e(k, 0) + e.shape(1))}};
            } catch (const std::exception& e) {
                for (const std::size_t i : at) errors[i] = error_text(e, "worker");
            }
        };
        fill(text_at, [&] { return embedder_->embed_texts(texts); });
        fill(image_at, [&] { return embedder_->embed_images(images); });
        return out;
    }

private:
    std::shared_ptr<const interfaces::text_image_embedder> embedder_;
};

class classify_image_task final : public task {
public:
    explicit classify_image_task(const std::filesystem::path& model)
        : embedder_(pipelines::text_image_embedder_from_pretrained(model, model_options())) {}

    std::vector<io::ordered_json> run(const std::vector<request>& group, std::vector<std::string>& errors) const override {
        return each(group, errors, [&](const request& r) {
            const io::json& labels = member(r, "labels");
            if (!labels.is_array() || !std::all_of(labels.begin(), labels.end(), [](const io::json& l) { return l.is_string(); }))
                fail<input_error>(r.where, ": expected \"labels\": [\"...\", ...]");
            const std::string hypothesis = member(r, "template").is_null() ? pipelines::default_hypothesis_template : string_member(r, "template");
            const auto scores = pipelines::classify_image(*embedder_, image_of(r, embedder_->image_limits()), labels.get<std::vector<std::string>>(), hypothesis);
            check_finite_scores(scores, "worker: classify-image");
            return io::ordered_json{{"labels", label_scores_json(scores)}};
        });
    }

private:
    std::shared_ptr<const interfaces::text_image_embedder> embedder_;
};

class transcribe_task final : public task {
public:
    explicit transcribe_task(const std::filesystem::path& model) : recognizer_(pipelines::speech_recognizer::from_pretrained(model, model_options())) {}

    std::vector<io::ordered_json> run(const std::vector<request>& group, std::vector<std::string>& errors) const override {
        return each(group, errors, [&](const request& r) {
            pipelines::transcription_options options;
            options.chunk_length_s = default_chunk_seconds;
            if (const io::json& s = member(r, "chunk_seconds"); !s.is_null()) {
                if (!s.is_number() || !(s.get<double>() >= 0)) fail<input_error>(r.where, ": expected \"chunk_seconds\" >= 0, got ", s.dump());
                options.chunk_length_s = s.get<double>();
            }
            if (const io::json& t = member(r, "timestamps"); !t.is_null()) {
                if (t != "word" && t != "char") fail<input_error>(r.where, ": expected \"timestamps\": \"word\" or \"char\", got ", t.dump());
                options.timestamps = t == "word" ? pipelines::timestamp_level::word : pipelines::timestamp_level::character;
            }
            const auto bytes = payload(r, "path", "bytes");
            io::wav_audio audio = io::decode_wav(bytes.data(), bytes.size(), r.where + ": the audio");
            const auto result = recognizer_.transcribe(std::move(audio.samples), audio.sample_rate, options);
            return transcription_json(result, options.timestamps != pipelines::timestamp_level::none);
        });
    }

private:
    pipelines::speech_recognizer recognizer_;
};

class document_task final : public task {
public:
    document_task(const std::filesystem::path& model, bool classify)
        : pipeline_(pipelines::document_pipeline::from_pretrained(model, model_options())), classify_(classify) {}

    std::vector<io::ordered_json> run(const std::vector<request>& group, std::vector<std::string>& errors) const override {
        return each(group, errors, [&](const request& r) {
            const io::json& inline_document = member(r, "document");
            if (inline_document.is_null() == member(r, "path").is_null())
                fail<input_error>(r.where, ": expected exactly one of \"document\" (OCR JSON) and \"path\" (an OCR JSON file)");
            pipelines::ocr_document doc = inline_document.is_null() ? pipelines::ocr_document::from_file(string_member(r, "path"))
                                                                    : pipelines::ocr_document::from_json(inline_document, r.where + ": \"document\"");
            if (!member(r, "image").is_null() || !member(r, "image_bytes").is_null()) pipeline_.add_page(doc, image_of(r, pipeline_.page_limits(), "image", "image_bytes"), r.where);
            const pipelines::document_options options;
            const auto& model = pipeline_.model();
            if (classify_) {
                const auto result = model.classify(doc, options);
                check_finite_scores(result.probabilities, "worker: classify-document");
                return document_label_json(result, options.threshold);
            }
            const auto tags = model.tag(doc, options);
            check_finite_scores(tags, "worker: tag-document");
            return tags_json(tags);
        });
    }

private:
    pipelines::document_pipeline pipeline_;
    bool classify_;
};

std::unique_ptr<task> make_task(const std::string& name, const std::filesystem::path& model) {
    if (name == "embed") return std::make_unique<embed_task>(model);
    if (name == "classify-image") return std::make_unique<classify_image_task>(model);
    if (name == "transcribe") return std::make_unique<transcribe_task>(model);
    return std::make_unique<document_task>(model, name == "classify-document");
}

// One output line, flushed; false when stdout is gone (the reader closed the pipe).
bool emit(const io::ordered_json& line) {
    const std::string text = line.dump(-1, ' ', false, io::ordered_json::error_handler_t::replace) + "\n";
    return std::fwrite(text.data(), 1, text.size(), stdout) == text.size() && std::fflush(stdout) == 0;
}

// Answers `group` in order; false when the output failed.
bool answer(const task& t, const std::vector<request>& group, std::vector<std::string> errors) {
    std::vector<io::ordered_json> results;
    std::vector<std::size_t> todo;  // the requests that parsed
    std::vector<request> parsed;
    for (std::size_t i = 0; i < group.size(); ++i)
        if (errors[i].empty()) todo.push_back(i), parsed.push_back(group[i]);
    std::vector<std::string> run_errors(parsed.size());
    results = t.run(parsed, run_errors);
    std::vector<io::ordered_json> by_request(group.size());
    for (std::size_t k = 0; k < todo.size(); ++k) {
        if (!run_errors[k].empty()) errors[todo[k]] = run_errors[k];
        else by_request[todo[k]] = std::move(results[k]);
    }
    for (std::size_t i = 0; i < group.size(); ++i) {
        io::ordered_json line{{"id", group[i].id}};
        if (!errors[i].empty()) {
            line["error"] = errors[i];
        } else {
            for (auto& [key, value] : by_request[i].items()) line[key] = std::move(value);
        }
        if (!emit(line)) return false;
    }
    return true;
}

}  // namespace

void add_worker(CLI::App& app) {
    struct options {
        std::filesystem::path model;
        std::string task;
        std::size_t batch_size = 1;
    };
    auto o = std::make_shared<options>();
    auto* cmd = app.add_subcommand("worker",
                                   "Serve requests as JSON lines on stdin, one result line each on stdout in order, with the model loaded once");
    cmd->add_option("--model", o->model, "Model directory")->required();
    cmd->add_option("--task", o->task, "What to do with each request")
        ->required()
        ->check(CLI::IsMember({"embed", "classify-image", "transcribe", "tag-document", "classify-document"}));
    cmd->add_option("--batch-size", o->batch_size, "Requests read before answering (embed runs them through the model together)")
        ->capture_default_str()
        ->check(in_range<std::size_t>(1, 4096));
    cmd->callback([o] {
        const auto t = make_task(o->task, o->model);
        std::vector<request> group;
        std::vector<std::string> errors;
        std::string line;
        std::size_t number = 0;
        const auto flush = [&] {
            const bool ok = answer(*t, group, errors);
            group.clear();
            errors.clear();
            if (!ok) fail<io_error>("worker: cannot write to stdout");
        };
        while (std::getline(std::cin, line)) {
            ++number;
            if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
            request r{io::json(), io::json(), "request " + std::to_string(number)};
            std::string error;
            try {
                r.body = io::parse_json(line, r.where);
                if (!r.body.is_object()) fail<input_error>(r.where, ": expected a JSON object, got ", r.body.type_name());
                if (const auto id = r.body.find("id"); id != r.body.end()) r.id = *id;
                else fail<input_error>(r.where, ": expected an \"id\"");
            } catch (const std::exception& e) {
                error = error_text(e, "worker");
            }
            group.push_back(std::move(r));
            errors.push_back(std::move(error));
            if (group.size() == o->batch_size) flush();
        }
        if (!group.empty()) flush();
    });
}

}  // namespace mmt::cli
