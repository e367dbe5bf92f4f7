// mmt embed-collection: a folder of images, a JSONL manifest of images or a file of
// texts into an embedding index that `mmt search --index` reads
// (pipelines/embed_collection.hpp), with a progress bar on a terminal.
// Exit status: 0 when every input was embedded, 2 when the run finished but some
// inputs failed (their errors are in the manifest), 1 on an error that stopped it
// (what was written so far is kept; --resume goes on from it).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "commands.hpp"
#include "option_checks.hpp"
#include "mmt/core/error.hpp"
#include "mmt/pipelines/collection_sources.hpp"
#include "mmt/pipelines/embed_collection.hpp"
#include "mmt/pipelines/embedding_index_format.hpp"
#include "mmt/pipelines/text_image_embedders.hpp"

namespace mmt::cli {

namespace {

// Exit status of a run that finished with inputs that failed.
constexpr int some_inputs_failed = 2;

// "1:02:03" or "2:03".
std::string clock_time(double seconds) {
    const auto s = static_cast<long long>(seconds + 0.5);
    char text[32];
    if (s >= 3600) std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
    else std::snprintf(text, sizeof text, "%lld:%02lld", s / 60, s % 60);
    return text;
}

// Progress on stderr: a bar redrawn in place on a terminal, else a line every 10 s.
// The rate counts this run's inputs from its first report, after the model loaded.
class progress_report {
public:
    explicit progress_report(const char* unit) : unit_(unit), terminal_(::isatty(STDERR_FILENO) != 0) {}

    void operator()(const pipelines::collection_progress& p) {
        const auto now = clock::now();
        if (!started_) {
            started_ = true;
            start_ = printed_ = now;
        }
        const bool last = p.done == p.total;  // the bar is drawn full; a plain line would repeat the summary
        const double since = std::chrono::duration<double>(now - printed_).count();
        if (terminal_ ? !last && since < 0.1 : since < 10.0) return;
        printed_ = now;
        const double seconds = std::chrono::duration<double>(now - start_).count();
        const double rate = seconds > 0 ? double(p.done - p.kept) / seconds : 0;
        char speed[32] = "--";
        if (rate > 0) std::snprintf(speed, sizeof speed, "%.1f", rate);
        const std::string eta = rate > 0 ? clock_time(double(p.total - p.done) / rate) : "--";
        if (terminal_) {
            constexpr std::size_t width = 30;
            const std::size_t filled = p.total ? width * p.done / p.total : width;
            std::fprintf(stderr, "\r[%s%s] %zu/%zu  %s %s/s  ETA %s ", std::string(filled, '#').c_str(),
                         std::string(width - filled, '.').c_str(), p.done, p.total, speed, unit_, eta.c_str());
            if (last) std::fputc('\n', stderr);
        } else {
            std::fprintf(stderr, "mmt embed-collection: %zu/%zu %s, %s %s/s, ETA %s\n", p.done, p.total, unit_, speed, unit_,
                         eta.c_str());
        }
        std::fflush(stderr);
    }

private:
    using clock = std::chrono::steady_clock;
    const char* unit_;
    bool terminal_;
    bool started_ = false;
    clock::time_point start_, printed_;
};

}  // namespace

void add_embed_collection(CLI::App& app) {
    struct options {
        std::filesystem::path model, images, manifest, texts, out;
        pipelines::collection_options run;
        std::string part;
        bool quiet = false;
    };
    auto o = std::make_shared<options>();
    auto* cmd = app.add_subcommand("embed-collection",
                                   "Embed a folder or list of images, or a file of texts, into an index for mmt search --index; exit "
                                   "status 2 when some inputs failed (their errors are in OUT/manifest.jsonl)");
    cmd->add_option("--model", o->model, "Text-image model directory (CLIP): config, weights, tokenizer, preprocessor")->required();
    auto* images = cmd->add_option("--images", o->images, "Folder of images, walked recursively in sorted path order");
    auto* manifest = cmd->add_option("--manifest", o->manifest, "JSONL file of {\"id\", \"path\"}, one image per line");
    auto* texts = cmd->add_option("--texts", o->texts, "Text file, one text per line");
    images->excludes(manifest, texts);
    manifest->excludes(texts);
    cmd->add_option("--out", o->out, "Index folder to write: new or empty, or the run to go on with (--resume)")->required();
    cmd->add_option("--batch-size", o->run.batch_size, "Inputs per forward pass")->capture_default_str()->check(positive<std::size_t>());
    cmd->add_option("--inputs-per-shard", o->run.inputs_per_shard, "Consecutive inputs per embeddings-NNNNN.safetensors file")
        ->capture_default_str()
        ->check(positive<std::size_t>());
    cmd->add_option("--shard", o->part,
                    "K/N: embed only the K-th of N parts (whole shards, contiguous); the N outputs together equal one full run");
    cmd->add_flag("--resume", o->run.resume, "Go on with the run in --out after its last complete shard");
    cmd->add_option("--decode-threads", o->run.decode_threads, "Threads that read, decode and preprocess inputs")
        ->capture_default_str()
        ->check(positive<std::size_t>());
    cmd->add_flag("--quiet", o->quiet, "No progress or summary on stderr");
    cmd->callback([o, images, manifest, texts] {
        if (images->count() + manifest->count() + texts->count() == 0)
            fail<input_error>("embed-collection: give the inputs with --images DIR, --manifest FILE.jsonl or --texts FILE");
        if (!o->part.empty()) o->run.part = pipelines::parse_collection_part(o->part);
        std::unique_ptr<pipelines::collection_source> source;
        if (images->count()) source = std::make_unique<pipelines::image_folder>(o->images);
        else if (manifest->count()) source = std::make_unique<pipelines::image_manifest>(o->manifest);
        else source = std::make_unique<pipelines::text_lines>(o->texts);
        const char* unit = images->count() + manifest->count() ? "images" : "texts";
        if (!o->quiet) o->run.on_progress = progress_report(unit);

        const auto embedder = pipelines::text_image_embedder_from_pretrained(o->model, model_options());
        const auto done = pipelines::embed_collection(*embedder, *source, pipelines::index_format::model_name(o->model), o->out, o->run);
        if (!o->quiet) {
            std::fprintf(stderr, "mmt embed-collection: %zu of %zu %s embedded into %s", done.done - done.failed, done.total, unit,
                         o->out.string().c_str());
            if (done.kept) std::fprintf(stderr, " (%zu by the run resumed)", done.kept);
            if (done.failed)
                std::fprintf(stderr, "; %zu failed, their errors are in %s", done.failed,
                             (o->out / pipelines::index_format::manifest_file).string().c_str());
            std::fputc('\n', stderr);
        }
        if (done.failed) throw CLI::RuntimeError(some_inputs_failed);
    });
}

}  // namespace mmt::cli
