// mmt serve: one model, loaded once, over HTTP. OpenAI's shapes where OpenAI has an
// endpoint for the task (embeddings, audio transcriptions, the model list), so its
// clients work unchanged; the worker's result shapes (results_json.hpp) where it has
// none (zero-shot image classification, documents). Requests run concurrently on the
// one model (its pipelines are const) in httplib's thread pool.
//
// A request carries its files in its body (base64, data: URLs, a multipart upload):
// the server never opens a path that a request names. Errors are OpenAI's
// {"error": {"message", "type"}}: 400 for what mmt refuses (its typed errors, with
// their messages) and for an endpoint the model cannot serve, 401 without the
// --api-key, 404, 405, 413 past --max-body-size (a chunked body's size counts as it
// arrives), 415 for a wrong content type, and 500 for anything unexpected, which the
// process survives.
#include <malloc.h>
#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "commands.hpp"
#include "results_json.hpp"
#include "speech_output.hpp"
#include "mmt/core/error.hpp"
#include "mmt/core/finite.hpp"
#include "mmt/io/base64.hpp"
#include "mmt/io/image.hpp"
#include "mmt/io/json.hpp"
#include "mmt/io/wav.hpp"
#include "mmt/models/interfaces/document_input.hpp"
#include "mmt/models/wav2vec2/family.hpp"
#include "mmt/pipelines/document_pipeline.hpp"
#include "mmt/pipelines/embedding_index_format.hpp"
#include "mmt/pipelines/text_image_embedders.hpp"
#include "mmt/pipelines/transcription.hpp"
#include "mmt/pipelines/zero_shot_image_classification.hpp"

// Last, and its `_res` undone: httplib.h includes <resolv.h>, whose `_res` macro
// (glibc's resolver state) renames a parameter of Eigen's GEMM headers, which a
// unity build may include after this file.
#include <httplib.h>
#undef _res

namespace mmt::cli {

namespace {

// An answer other than 200 that is not one of mmt's errors (those are 400).
struct http_error : std::runtime_error {
    http_error(int status, const std::string& message) : std::runtime_error(message), status(status) {}
    int status;
};

const char* error_type(int status) {
    if (status == 401) return "authentication_error";
    if (status == 404) return "not_found_error";
    return status >= 500 ? "server_error" : "invalid_request_error";
}

void send_json(httplib::Response& res, const io::ordered_json& body, int status = 200) {
    res.status = status;
    res.set_content(body.dump(-1, ' ', false, io::ordered_json::error_handler_t::replace), "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& message) {
    send_json(res, {{"error", {{"message", message}, {"type", error_type(status)}}}}, status);
}

// What the loaded model serves: the pipeline its config.json's model_type makes.
struct served_model {
    std::string name;  // what GET /v1/models lists and a request's "model" must say
    std::string model_type;
    std::time_t created = 0;
    std::shared_ptr<const interfaces::text_image_embedder> embedder;  // CLIP, SigLIP, Chinese-CLIP
    std::optional<pipelines::speech_recognizer> recognizer;          // a CTC head of a speech family
    std::optional<pipelines::document_pipeline> documents;           // a layout model
    bool tags = false, classifies = false;                           // its head
};

void load(served_model& m, const std::filesystem::path& dir, const std::string& language) {
    const std::string config_path = (dir / "config.json").string();
    m.name = pipelines::index_format::model_name(dir);
    m.model_type = model_type_of(io::read_json_file(config_path), config_path);
    m.created = std::time(nullptr);
    const bool speech = accepts_model_type<wav2vec2::family>(m.model_type);
    if (!language.empty() && !speech)
        fail<input_error>("serve: --language picks an MMS speech checkpoint's language; '", dir.string(), "' is a ", m.model_type, " model");
    const auto embedders = model_types_of(pipelines::text_image_embedders{});
    if (std::find(embedders.begin(), embedders.end(), m.model_type) != embedders.end()) {
        m.embedder = pipelines::text_image_embedder_from_pretrained(dir, model_options());
    } else if (speech) {
        m.recognizer.emplace(pipelines::speech_recognizer::from_pretrained(dir, model_options(language)));
    } else {  // a layout model, or document_model's config_error naming what it reads
        m.documents.emplace(pipelines::document_pipeline::from_pretrained(dir, model_options()));
        // The layout families implement every head's interface and refuse at run time
        // the heads the checkpoint lacks, so the head is read from HF's class name.
        const std::string head = m.documents->model().model<interfaces::document_input>().architecture();
        const auto ends_with = [&](const std::string& suffix) {
            return head.size() >= suffix.size() && head.compare(head.size() - suffix.size(), suffix.size(), suffix) == 0;
        };
        m.tags = ends_with("ForTokenClassification");
        m.classifies = ends_with("ForSequenceClassification");
    }
}

// ---- reading requests ----

const io::json* member(const io::json& body, const char* key) {
    const auto it = body.find(key);
    return it == body.end() || it->is_null() ? nullptr : &*it;
}

std::string string_member(const io::json& body, const char* key, const std::string& where, std::optional<std::string> otherwise = {}) {
    const io::json* v = member(body, key);
    if (!v && otherwise) return *otherwise;
    if (!v || !v->is_string()) fail<input_error>(where, ": expected \"", key, "\" as a string, got ", v ? v->dump() : "none");
    return v->get<std::string>();
}

// The body as a JSON object.
io::json json_body(const httplib::Request& req, const std::string& where, const io::json_limits& limits = {}) {
    io::json body = io::parse_json(req.body, where + ": the body", limits);
    if (!body.is_object()) fail<input_error>(where, ": expected a JSON object as the body, got ", body.type_name());
    return body;
}

// A request's "model", when it names one, must be the loaded one (OpenAI's clients always send it).
void check_model(const served_model& m, const std::optional<std::string>& asked, const std::string& where) {
    if (asked && *asked != m.name)
        throw http_error(404, where + ": model \"" + *asked + "\" is not served here; this server serves \"" + m.name + "\" (GET /v1/models)");
}

std::optional<std::string> model_member(const io::json& body, const std::string& where) {
    if (!member(body, "model")) return std::nullopt;
    return string_member(body, "model", where);
}

// An image as a data: URL (data:image/png;base64,...) or bare base64, decoded within
// `limits` (the model's, so that an image it could not resize is refused from its header).
io::rgb_image image_from(std::string_view text, const std::string& where, const io::image_limits& limits) {
    if (text.substr(0, 5) == "data:") {
        const auto comma = text.find(',');
        const std::string_view header = text.substr(0, comma);
        const std::string_view suffix = ";base64";
        if (comma == std::string_view::npos || header.size() < suffix.size() || header.substr(header.size() - suffix.size()) != suffix)
            fail<input_error>(where, ": expected a data URL data:image/...;base64,<base64>, got \"", text.substr(0, std::min<std::size_t>(comma, 40)),
                              "...\"");
        text.remove_prefix(comma + 1);
    }
    return io::decode_image(io::decode_base64(text, where), where, limits);
}

// ---- the endpoints ----

void health(const served_model&, const httplib::Request&, httplib::Response& res) { send_json(res, {{"status", "ok"}}); }

void models(const served_model& m, const httplib::Request&, httplib::Response& res) {
    io::ordered_json model{{"id", m.name}, {"object", "model"}, {"created", m.created}, {"owned_by", "mmt"}};
    send_json(res, {{"object", "list"}, {"data", {model}}});
}

// OpenAI's embeddings: "input" a string or a list of them, texts and images as
// data:image/... URLs mixed; "encoding_format" float or base64 (little-endian
// float32). The embedders count no tokens, so usage says 0.
void embeddings(const served_model& m, const httplib::Request& req, httplib::Response& res) {
    const std::string where = "POST /v1/embeddings";
    const io::json body = json_body(req, where);
    check_model(m, model_member(body, where), where);
    constexpr std::size_t max_inputs = 2048;  // OpenAI's limit
    const io::json* input = member(body, "input");
    const bool one = input && input->is_string();
    if (!one && !(input && input->is_array() && !input->empty() && input->size() <= max_inputs &&
                  std::all_of(input->begin(), input->end(), [](const io::json& v) { return v.is_string(); })))
        fail<input_error>(where, ": expected \"input\": a string or an array of 1 to ", max_inputs,
                          " strings (texts, or images as data:image/...;base64,... URLs)");
    const std::string format = string_member(body, "encoding_format", where, "float");
    if (format != "float" && format != "base64") fail<input_error>(where, ": expected \"encoding_format\": \"float\" or \"base64\", got \"", format, "\"");
    const auto entries = one ? std::vector<std::string>{input->get<std::string>()} : input->get<std::vector<std::string>>();
    std::vector<std::size_t> text_at, image_at;  // input index of each text, image
    std::vector<std::string> texts;
    std::vector<io::rgb_image> images;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        if (entries[i].rfind("data:image/", 0) == 0) {
            images.push_back(image_from(entries[i], where + ": input[" + std::to_string(i) + "]", m.embedder->image_limits()));
            image_at.push_back(i);
        } else {
            texts.push_back(entries[i]);
            text_at.push_back(i);
        }
    }
    io::ordered_json data = io::ordered_json::array();
    for (std::size_t i = 0; i < entries.size(); ++i) data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", nullptr}});
    std::size_t dim = 0;
    const auto fill = [&](const std::vector<std::size_t>& at, const tensor<2>& e) {  // [at.size(), dim]
        check_finite(e, where);
        dim = e.shape(1);
        for (std::size_t k = 0; k < at.size(); ++k) {
            const float* row = &e(k, 0);
            data[at[k]]["embedding"] = format == "float" ? io::ordered_json(std::vector<float>(row, row + e.shape(1)))
                                                         : io::ordered_json(io::encode_base64(row, e.shape(1) * sizeof(float)));
        }
    };
    static_assert(sizeof(float) == 4, "base64 embeddings are float32");
    if (!texts.empty()) fill(text_at, m.embedder->embed_texts(texts));
    if (!images.empty()) fill(image_at, m.embedder->embed_images(images));
    const io::json* dimensions = member(body, "dimensions");  // OpenAI's shortened embeddings: these have one size
    if (dimensions && *dimensions != dim)
        fail<input_error>(where, ": \"dimensions\" ", dimensions->dump(), ", but this model's embeddings have ", dim, " and are not shortened");
    send_json(res, {{"object", "list"}, {"data", std::move(data)}, {"model", m.name}, {"usage", {{"prompt_tokens", 0}, {"total_tokens", 0}}}});
}

// {"image": data URL or base64, "labels": [...], "template"?} -> {"labels": [{"label", "score"}, ...]}, best first.
void classify_image(const served_model& m, const httplib::Request& req, httplib::Response& res) {
    const std::string where = "POST /v1/images/classify";
    const io::json body = json_body(req, where);
    check_model(m, model_member(body, where), where);
    const io::json* labels = member(body, "labels");
    if (!labels || !labels->is_array() || labels->empty() || !std::all_of(labels->begin(), labels->end(), [](const io::json& l) { return l.is_string(); }))
        fail<input_error>(where, ": expected \"labels\": [\"...\", ...], at least one");
    const std::string hypothesis = string_member(body, "template", where, pipelines::default_hypothesis_template);
    const auto image = image_from(string_member(body, "image", where), where + ": \"image\"", m.embedder->image_limits());
    const auto scores = pipelines::classify_image(*m.embedder, image, labels->get<std::vector<std::string>>(), hypothesis);
    check_finite_scores(scores, where);
    send_json(res, {{"labels", label_scores_json(scores)}});
}

// The body is the OCR document as `mmt tag-document` reads it, with an optional page
// "image" (data URL or base64) and "clamp_boxes".
pipelines::ocr_document document_of(const served_model& m, const httplib::Request& req, const std::string& where, pipelines::document_options& options) {
    const io::json body = json_body(req, where, pipelines::ocr_document::words_file_limits(tokenizers::boxed_options{}.max_words));
    check_model(m, model_member(body, where), where);
    pipelines::ocr_document doc = pipelines::ocr_document::from_json(body, where);
    if (member(body, "image")) m.documents->add_page(doc, image_from(string_member(body, "image", where), where + ": \"image\"", m.documents->page_limits()), where);
    if (const io::json* clamp = member(body, "clamp_boxes")) {
        if (!clamp->is_boolean()) fail<input_error>(where, ": expected \"clamp_boxes\": true or false, got ", clamp->dump());
        options.clamp_boxes = clamp->get<bool>();
    }
    return doc;
}

void tag_document(const served_model& m, const httplib::Request& req, httplib::Response& res) {
    pipelines::document_options options;
    const std::string where = "POST /v1/documents/tag";
    const auto tags = m.documents->model().tag(document_of(m, req, where, options), options);
    check_finite_scores(tags, where);
    send_json(res, tags_json(tags));
}

void classify_document(const served_model& m, const httplib::Request& req, httplib::Response& res) {
    pipelines::document_options options;
    const std::string where = "POST /v1/documents/classify";
    const auto result = m.documents->model().classify(document_of(m, req, where, options), options);
    check_finite_scores(result.probabilities, where);
    send_json(res, document_label_json(result, options.threshold));
}

// OpenAI's transcriptions: a multipart form with the WAV as "file" and "response_format"
// json, text, srt, vtt or verbose_json (duration, text, and with
// "timestamp_granularities[]" the words and/or segments: the words gathered as
// subtitle cues). A CTC model has no use for "language", "prompt" or "temperature":
// they are accepted and have no effect.
void transcriptions(const served_model& m, const httplib::Request& req, httplib::Response& res) {
    const std::string where = "POST /v1/audio/transcriptions";
    const std::set<std::string> fields = {"file", "model", "response_format", "timestamp_granularities[]", "language", "prompt", "temperature"};
    for (const auto& [name, part] : req.files)
        if (!fields.count(name)) fail<input_error>(where, ": unknown form field \"", name, "\"; expected ", or_list(fields));
    const auto field = [&](const char* name) -> const std::string* {  // its first part's content, in place (the file's may be large)
        const auto it = req.files.find(name);
        return it == req.files.end() ? nullptr : &it->second.content;
    };
    const std::string* model = field("model");
    check_model(m, model ? std::optional<std::string>(*model) : std::nullopt, where);
    const std::string* wav = field("file");
    if (!wav) fail<input_error>(where, ": expected the audio as the form's \"file\" (a WAV file)");
    const std::string format = field("response_format") ? *field("response_format") : "json";
    const std::vector<std::string> formats = {"json", "text", "srt", "vtt", "verbose_json"};
    if (std::find(formats.begin(), formats.end(), format) == formats.end())
        fail<input_error>(where, ": expected \"response_format\" ", or_list(formats), ", got \"", format, "\"");
    std::set<std::string> granularities;
    const auto [first, last] = req.files.equal_range("timestamp_granularities[]");
    for (auto it = first; it != last; ++it) {
        if (it->second.content != "word" && it->second.content != "segment")
            fail<input_error>(where, ": expected \"timestamp_granularities[]\" word or segment, got \"", it->second.content, "\"");
        granularities.insert(it->second.content);
    }
    if (!granularities.empty() && format != "verbose_json")
        fail<input_error>(where, ": \"timestamp_granularities[]\" needs \"response_format\" verbose_json, got ", format);
    if (granularities.empty()) granularities.insert("segment");  // OpenAI's default

    io::wav_audio audio = io::decode_wav(reinterpret_cast<const unsigned char*>(wav->data()), wav->size(), where + ": \"file\"");
    const double duration = audio.duration_seconds();
    pipelines::transcription_options options;
    options.chunk_length_s = default_chunk_seconds;
    if (format != "json" && format != "text") options.timestamps = pipelines::timestamp_level::word;
    const auto result = m.recognizer->transcribe(std::move(audio.samples), audio.sample_rate, options);

    const char* text_type = "text/plain; charset=utf-8";
    if (format == "json") return send_json(res, transcription_json(result, false));
    if (format == "text") return res.set_content(result.text + "\n", text_type);
    speech_output subtitle_options;  // the cue limits' defaults, as mmt transcribe has them
    if (format != "verbose_json") {
        subtitle_options.format = format;
        return res.set_content(subtitles(subtitle_options, result.chunks), format == "vtt" ? "text/vtt; charset=utf-8" : text_type);
    }
    io::ordered_json out{{"task", "transcribe"}, {"duration", duration}, {"text", result.text}};
    if (granularities.count("word")) {
        out["words"] = io::ordered_json::array();
        for (const auto& w : result.chunks) out["words"].push_back({{"word", w.text}, {"start", w.start}, {"end", w.end}});
    }
    if (granularities.count("segment")) {
        out["segments"] = io::ordered_json::array();
        const auto cues = pipelines::make_cues(result.chunks, subtitle_options.cues);
        for (std::size_t i = 0; i < cues.size(); ++i)
            out["segments"].push_back({{"id", i}, {"start", cues[i].start}, {"end", cues[i].end}, {"text", cues[i].text}});
    }
    send_json(res, out);
}

// httplib's listen backlog is 5 (CPPHTTPLIB_LISTEN_BACKLOG, compiled into Debian's
// library). With a connection per request, 16 clients overflowed it: a dropped SYN is
// sent again after 1 s, which was the load test's slowest request. Listening again on
// the bound socket sets the backlog (Linux).
struct http_server : httplib::Server {
    void widen_backlog() { ::listen(svr_sock_, SOMAXCONN); }
};

// ---- routing ----

using handler = void (*)(const served_model&, const httplib::Request&, httplib::Response&);

struct route {
    const char* method;
    const char* path;
    const char* content_type;  // what the body must be; nullptr: no body
    bool (*serves)(const served_model&);
    handler run;
};

bool always(const served_model&) { return true; }
bool embeds(const served_model& m) { return m.embedder != nullptr; }
bool transcribes(const served_model& m) { return m.recognizer.has_value(); }
bool tags_documents(const served_model& m) { return m.tags; }
bool classifies_documents(const served_model& m) { return m.classifies; }

const std::vector<route>& routes() {
    static const std::vector<route> all = {
        {"GET", "/health", nullptr, always, health},
        {"GET", "/v1/models", nullptr, always, models},
        {"POST", "/v1/embeddings", "application/json", embeds, embeddings},
        {"POST", "/v1/images/classify", "application/json", embeds, classify_image},
        {"POST", "/v1/audio/transcriptions", "multipart/form-data", transcribes, transcriptions},
        {"POST", "/v1/documents/tag", "application/json", tags_documents, tag_document},
        {"POST", "/v1/documents/classify", "application/json", classifies_documents, classify_document},
    };
    return all;
}

std::string served_list(const served_model& m) {
    std::vector<std::string> served;
    for (const route& r : routes())
        if (r.content_type && r.serves(m)) served.push_back(std::string(r.method) + " " + r.path);
    return or_list(served);
}

// Compares every byte whatever the first difference, so the time taken does not say how much of a key was right.
bool same_key(const std::string& given, const std::string& key) {
    unsigned difference = given.size() != key.size();
    for (std::size_t i = 0; i < given.size(); ++i) difference |= unsigned(static_cast<unsigned char>(given[i] ^ key[i % key.size()]));
    return difference == 0;
}

void check_key(const httplib::Request& req, const std::string& key) {
    if (key.empty()) return;
    const std::string header = req.get_header_value("Authorization"), bearer = "Bearer ";
    if (header.empty()) throw http_error(401, "missing API key: expected the header \"Authorization: Bearer KEY\"");
    if (header.compare(0, bearer.size(), bearer) != 0 || !same_key(header.substr(bearer.size()), key))
        throw http_error(401, "invalid API key in the Authorization header");
}

void answer(const route& r, const served_model& m, const std::string& key, const httplib::Request& req, httplib::Response& res) {
    const std::string where = std::string(r.method) + " " + r.path;
    try {
        if (std::string_view(r.path) != "/health") check_key(req, key);
        if (!r.serves(m))
            throw http_error(400, where + ": the model \"" + m.name + "\" (model_type " + m.model_type + ") cannot serve it; it serves " + served_list(m));
        if (r.content_type) {
            const std::string type = req.get_header_value("Content-Type");
            if (type.compare(0, std::string_view(r.content_type).size(), r.content_type) != 0)
                throw http_error(415, where + ": expected Content-Type " + r.content_type + ", got \"" + type + "\"");
        }
        r.run(m, req, res);
    } catch (const http_error& e) {
        if (e.status == 401) res.set_header("WWW-Authenticate", "Bearer");
        send_error(res, e.status, e.what());
    } catch (const numeric_error& e) {  // the model's fault, not the request's
        send_error(res, 500, e.what());
    } catch (const mmt::error& e) {
        send_error(res, 400, e.what());
    } catch (const std::bad_alloc& e) {
        send_error(res, 413, error_text(e, where));
    } catch (const std::length_error& e) {
        send_error(res, 413, error_text(e, where));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "mmt serve: %s: internal error: %s\n", where.c_str(), e.what());
        send_error(res, 500, where + ": internal error: " + e.what());
    } catch (...) {
        std::fprintf(stderr, "mmt serve: %s: internal error\n", where.c_str());
        send_error(res, 500, where + ": internal error");
    }
}

// A POST's body as it arrives, with a Content-Length or chunked, into `full` (a copy
// of req): httplib refuses a Content-Length over --max-body-size (413) but would keep a
// chunked body whole, whatever its size. Past max_body bytes (of a form, its parts'
// contents) the rest is read and dropped, as httplib skips a Content-Length body it
// refuses, so the client gets the 413 rather than a connection reset while it still
// sends; once as much again has been dropped the connection is cut, as a body without
// end would hold the request's thread for as long as it came. Returns 200, or the status of a body
// that cannot be taken (413, 400 for a malformed chunk or form).
int read_body(const httplib::Request& req, const httplib::ContentReader& read, std::size_t max_body, httplib::Request& full,
              const httplib::Response& res) {
    std::size_t size = 0;
    auto keep = [&](std::string& into, const char* data, std::size_t n) {
        size += n;
        if (size <= max_body) into.append(data, n);
        return size - std::min(size, max_body) <= max_body;  // what was dropped
    };
    bool whole = false;
    if (req.is_multipart_form_data()) {
        std::string* content = nullptr;  // of the part being read
        whole = read(
            [&](const httplib::MultipartFormData& part) {
                content = &full.files.emplace(part.name, part)->second.content;
                return true;
            },
            [&](const char* data, std::size_t n) { return content && keep(*content, data, n); });
    } else {
        whole = read([&](const char* data, std::size_t n) { return keep(full.body, data, n); });
    }
    if (size > max_body) return 413;
    return whole ? 200 : res.status >= 400 ? res.status : 400;
}

// The errors httplib answers itself (no route, a body too large or malformed), in the same JSON shape.
httplib::Server::HandlerResponse answer_httplib_error(const httplib::Request& req, httplib::Response& res, std::size_t max_body) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;  // answer() wrote it
    std::string message = std::string("HTTP ") + std::to_string(res.status) + " for " + req.method + " " + req.path;
    std::vector<std::string> allowed;  // the methods of req.path, when it is an endpoint's
    for (const route& r : routes())
        if (req.path == r.path) allowed.push_back(r.method);
    // httplib answers a body-less POST with 400 before routing it: to GET /health, that is a wrong method too.
    const bool wrong_method = !allowed.empty() && std::find(allowed.begin(), allowed.end(), req.method) == allowed.end();
    if (res.status == 404 || (res.status == 400 && wrong_method)) {
        if (wrong_method) {
            res.status = 405;
            res.set_header("Allow", allowed.front());
            message = req.path + " takes " + or_list(allowed) + ", not " + req.method;
        } else {
            std::vector<std::string> all;
            for (const route& r : routes()) all.push_back(std::string(r.method) + " " + r.path);
            message = "no endpoint " + req.method + " " + req.path + "; expected " + or_list(all);
        }
    } else if (res.status == 413) {
        message = req.method + " " + req.path + ": the body is over the limit of " + std::to_string(max_body) + " bytes (mmt serve --max-body-size)";
    } else if (res.status == 400) {
        message = "malformed HTTP request (" + req.method + " " + req.path + "): a bad header, body or multipart form";
    }
    send_error(res, res.status, message);
    return httplib::Server::HandlerResponse::Handled;
}

}  // namespace

void add_serve(CLI::App& app) {
    struct options {
        std::filesystem::path model;
        std::string host = "127.0.0.1", api_key, language;
        int port = 8080;
        std::size_t max_body = 32u << 20, concurrency = 8;
        double timeout = 30;
    };
    auto o = std::make_shared<options>();
    auto* cmd = app.add_subcommand("serve", "Serve the model over HTTP: OpenAI's /v1/embeddings and /v1/audio/transcriptions, "
                                            "/v1/images/classify, /v1/documents/tag and /v1/documents/classify, as the model can");
    cmd->add_option("--model", o->model, "Model directory")->required();
    cmd->add_option("--host", o->host, "Address to listen on (0.0.0.0: every interface)")->capture_default_str();
    cmd->add_option("--port", o->port, "Port (0: a free one, printed at start)")->capture_default_str()->check(CLI::Range(0, 65535));
    cmd->add_option("--api-key", o->api_key, "Require \"Authorization: Bearer KEY\" on every request but GET /health")->envname("MMT_API_KEY");
    cmd->add_option("--max-body-size", o->max_body, "Largest request body (bytes, or e.g. 25MB, 32MiB); larger ones get 413")
        ->transform(CLI::AsSizeValue(true))
        ->capture_default_str();
    cmd->add_option("--concurrency", o->concurrency, "Requests served at once (request threads, one connection each); more wait their turn")
        ->capture_default_str()
        ->check(CLI::Range(1, 1024));
    cmd->add_option("--timeout", o->timeout, "Seconds a read or write on a connection may wait for the client before it is dropped")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    add_language_option(cmd, o->language);
    cmd->callback([o] {
        // SIGINT and SIGTERM end the server: blocked in every thread (the ops' worker
        // threads and the request threads inherit the mask) and awaited by one, which
        // stops the server.
        sigset_t stop_signals;
        sigemptyset(&stop_signals);
        sigaddset(&stop_signals, SIGINT);
        sigaddset(&stop_signals, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
#ifdef __GLIBC__
        // glibc maps each block above its mmap threshold for that allocation and unmaps it
        // when it is freed. A 1 MiB pin here kept memory low, but mapped every activation
        // of a real-size model afresh in every layer: 5 times the time of a forward pass of
        // clip_b32_image/batch:1 in int8, 7 times layoutlm_base/1x512's. Pinned at the
        // ceilings glibc's own dynamic thresholds rise to, the activations come from the
        // request threads' arenas, which keep them for the next request: the tiny CLIP's
        // server settles at ~71 MiB within 1,000 requests from 16 clients (43 MiB with the
        // 1 MiB pin) and stays there (tests/server/load_test.py).
        mallopt(M_MMAP_THRESHOLD, 32 << 20);
        mallopt(M_TRIM_THRESHOLD, 64 << 20);
#endif
        auto model = std::make_shared<served_model>();
        load(*model, o->model, o->language);
        auto server = std::make_shared<http_server>();
        const std::size_t threads = o->concurrency;
        server->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
        server->set_payload_max_length(o->max_body);
        // One request per connection: httplib keeps a request thread on an idle keep-alive
        // connection until its keep-alive timeout, so 8 idle clients (a connection pool)
        // held every thread and the next request waited 5 s. A new TCP connection costs
        // far less than a forward pass.
        server->set_keep_alive_max_count(1);
        // httplib's own options add SO_REUSEPORT, with which a second server binds a port
        // in use and the kernel splits the connections between the two: only SO_REUSEADDR.
        server->set_socket_options([](socket_t socket) {
            const int yes = 1;
            setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
        });
        const auto timeout = std::chrono::duration<double>(o->timeout);
        server->set_read_timeout(std::chrono::duration_cast<std::chrono::microseconds>(timeout));
        server->set_write_timeout(std::chrono::duration_cast<std::chrono::microseconds>(timeout));
        for (const route& r : routes()) {
            if (!r.content_type) {
                server->Get(r.path, [&r, model, key = o->api_key](const httplib::Request& req, httplib::Response& res) {
                    answer(r, *model, key, req, res);
                });
                continue;
            }
            server->Post(r.path, [&r, model, key = o->api_key, max_body = o->max_body](
                                     const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& read) {
                httplib::Request full = req;
                res.status = read_body(req, read, max_body, full, res);
                if (res.status != 200) return (void)answer_httplib_error(req, res, max_body);
                answer(r, *model, key, full, res);
            });
        }
        // httplib reads a chunked body whole before it finds no route takes it: where none
        // does, the answer comes first and the connection closes unread.
        server->set_pre_routing_handler([max_body = o->max_body](const httplib::Request& req, httplib::Response& res) {
            if (req.get_header_value("Transfer-Encoding").find("chunked") == std::string::npos) return httplib::Server::HandlerResponse::Unhandled;
            const auto takes = std::find_if(routes().begin(), routes().end(), [&](const route& r) { return req.method == r.method && req.path == r.path; });
            if (takes != routes().end() && takes->content_type) return httplib::Server::HandlerResponse::Unhandled;
            if (takes != routes().end()) {
                send_error(res, 400, req.method + " " + req.path + " takes no body, and this one is chunked");
            } else {
                res.status = 404;
                answer_httplib_error(req, res, max_body);
            }
            res.set_header("Connection", "close");
            return httplib::Server::HandlerResponse::Handled;
        });
        server->set_error_handler(httplib::Server::HandlerWithResponse(
            [max_body = o->max_body](const httplib::Request& req, httplib::Response& res) { return answer_httplib_error(req, res, max_body); }));
        server->set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr) {
            send_error(res, 500, req.method + " " + req.path + ": internal error");
        });
        const int port = o->port == 0 ? server->bind_to_any_port(o->host) : server->bind_to_port(o->host, o->port) ? o->port : -1;
        if (port < 0) fail<io_error>("serve: cannot listen on ", o->host, ":", o->port, " (in use, or not an address of this machine)");
        server->widen_backlog();
        const bool v6 = o->host.find(':') != std::string::npos;
        std::printf("mmt serve: http://%s%s%s:%d, model \"%s\" (%s): %s\n", v6 ? "[" : "", o->host.c_str(), v6 ? "]" : "", port, model->name.c_str(),
                    model->model_type.c_str(), served_list(*model).c_str());
        std::fflush(stdout);
        std::thread([server, stop_signals] {
            int signal = 0;
            sigwait(&stop_signals, &signal);
            server->stop();
        }).detach();
        if (!server->listen_after_bind()) fail<io_error>("serve: the server on ", o->host, ":", port, " stopped with an error");
    });
}

}  // namespace mmt::cli
