// A whole collection of images or texts (pipelines/collection_sources.hpp) into an
// embedding index (embedding_index_format.hpp, written by embedding_index_writer.hpp),
// with any interfaces::text_image_embedder, in memory that does not grow with the
// collection: worker threads read, decode and preprocess the inputs a bounded
// number ahead of the forward passes (core/ordered_workers.hpp), and a shard's
// embeddings are held until its file is written.
//
// An input that cannot be read, decoded or embedded (a corrupt file, a file that
// is not an image, a text that is not UTF-8) gets its error in the manifest and
// the run goes on. Forward passes take up to batch_size inputs of one shard, never
// more, so a shard's bytes depend only on the collection, the model and the
// settings: a resumed run or a part writes what one full run writes.
#pragma once

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/core/ordered_workers.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/image.hpp"
#include "mmt/pipelines/collection_sources.hpp"
#include "mmt/pipelines/embedding_index_writer.hpp"
#include "mmt/pipelines/interfaces/text_image_embedder.hpp"

namespace mmt::pipelines {

// A quarter of the cores, at least one: decoding and preprocessing a photo costs
// about a tenth of a ViT-B forward pass, which has the other cores.
inline std::size_t default_decode_threads() { return std::max(1u, std::thread::hardware_concurrency() / 4); }

// How far a run is, counted in inputs of its part.
struct collection_progress {
    std::size_t done = 0;    // embedded or failed, kept ones included
    std::size_t total = 0;   // the part's inputs
    std::size_t kept = 0;    // done by the run that was resumed
    std::size_t failed = 0;  // of done
};

struct collection_options {
    std::size_t batch_size = 16;  // inputs per forward pass at most
    std::size_t inputs_per_shard = 8192;
    collection_part part;
    bool resume = false;  // go on with the run in the output folder (embedding_index_writer)
    std::size_t decode_threads = default_decode_threads();
    // Called at the start and after each forward pass, on the calling thread.
    std::function<void(const collection_progress&)> on_progress;
};

namespace detail {

struct prepared_input {
    collection_input input;
    tensor<3> pixel_values;  // images: [3, height, width]
    std::string error;       // why the input could not be read or preprocessed
};

// One forward pass before the run: a model that cannot embed the modality stops the
// run here, rather than failing every input, and its embeddings' width is the index's dim.
inline std::size_t probe_dim(const interfaces::text_image_embedder& embedder, bool images) {
    if (!images) return embedder.embed_texts({""}).shape(1);
    const tensor<3> pixels = embedder.preprocess_image(io::rgb_image{1, 1, {0, 0, 0}});
    return embedder.embed_pixels(interfaces::stack_pixel_values({&pixels})).shape(1);
}

// A shard's manifest entries and embedded rows as they are made, a batch at a time.
class shard_builder {
public:
    shard_builder(const interfaces::text_image_embedder& embedder, bool images) : embedder_(embedder), images_(images) {}

    std::vector<manifest_entry> entries;
    std::vector<float> rows;  // [embedded, dim]
    std::size_t failed = 0;

    // Takes the next input of the shard; true when it filled a batch to `batch_size`.
    bool add(prepared_input item, std::size_t batch_size) {
        entries.push_back({std::move(item.input.id), std::move(item.input.path), std::move(item.error)});
        if (!entries.back().error.empty()) {
            ++failed;
            return false;
        }
        batch_.push_back({entries.size() - 1, std::move(item.input.text), std::move(item.pixel_values)});
        return batch_.size() == batch_size;
    }

    // Embeds the batch.
    void flush() {
        if (batch_.empty()) return;
        if (images_) {
            std::vector<const tensor<3>*> pixels;
            for (const auto& b : batch_) pixels.push_back(&b.pixel_values);
            append(embedder_.embed_pixels(interfaces::stack_pixel_values(pixels)));
        } else {
            flush_texts();
        }
        batch_.clear();
    }

private:
    struct pending {
        std::size_t entry;
        std::string text;
        tensor<3> pixel_values;
    };

    // A text the tokenizer refuses (not UTF-8, too long) fails the batch's call; the
    // batch is then embedded a text at a time to tell which one. The probe has shown
    // that the model embeds texts, so what fails alone fails for its text.
    void flush_texts() {
        std::vector<std::string> texts;
        for (const auto& b : batch_) texts.push_back(b.text);
        try {
            append(embedder_.embed_texts(texts));
            return;
        } catch (const mmt::error&) {
        }
        for (const auto& b : batch_) {
            try {
                append(embedder_.embed_texts({b.text}));
            } catch (const mmt::error& e) {
                entries[b.entry].error = e.what();
                ++failed;
            }
        }
    }

    void append(const tensor<2>& embeddings) { rows.insert(rows.end(), embeddings.begin(), embeddings.end()); }  // [batch, dim]

    const interfaces::text_image_embedder& embedder_;
    bool images_;
    std::vector<pending> batch_;
};

}  // namespace detail

// Embeds the inputs of `source` (its part options.part) into the index folder `out`;
// `model_name` is what the index records as its model (index_format::model_name).
// Returns the final progress: failed > 0 when any input failed.
inline collection_progress embed_collection(const interfaces::text_image_embedder& embedder, collection_source& source,
                                            const std::string& model_name, const std::filesystem::path& out,
                                            const collection_options& options) {
    if (options.batch_size == 0 || options.inputs_per_shard == 0 || options.decode_threads == 0)
        fail<input_error>("embed_collection: expected a batch size, inputs per shard and decode threads of at least 1, got ",
                          options.batch_size, ", ", options.inputs_per_shard, " and ", options.decode_threads);
    const bool images = std::string(source.modality()) == "image";
    const std::size_t dim = detail::probe_dim(embedder, images);
    const collection_layout layout{source.size(), options.inputs_per_shard, options.part};
    embedding_index_writer index(out, {model_name, source.modality(), dim, layout}, options.resume);

    std::size_t position = 0;  // of the next input source.next() gives
    const auto take = [&] {
        std::optional<collection_input> input = source.next();
        if (!input)
            fail<io_error>("the collection ended at input ", position, " of the ", layout.inputs,
                           " counted when it was opened: it changed while it was read");
        ++position;
        return std::move(*input);
    };
    while (position < layout.begin()) take();
    index.for_each_kept_id([&](const std::string& id) {
        const collection_input input = take();
        if (embedding_index_writer::json_text(id) != embedding_index_writer::json_text(input.id))
            fail<input_error>("cannot resume in '", out.string(), "': input ", position - 1, " was \"", id, "\" and is now \"",
                              input.id, "\"; the collection changed since the run began");
    });

    collection_progress progress{index.kept(), layout.end() - layout.begin(), index.kept(), index.kept_failures()};
    if (options.on_progress) options.on_progress(progress);
    const io::image_limits image_limits = embedder.image_limits();
    ordered_workers<collection_input, detail::prepared_input> workers(
        options.decode_threads, 2 * options.batch_size + options.decode_threads,
        [&]() -> std::optional<collection_input> {
            if (position == layout.end()) return std::nullopt;
            return take();
        },
        [&](collection_input input) {
            detail::prepared_input item{std::move(input), {}, {}};
            if (images) {
                try {
                    item.pixel_values = embedder.preprocess_image(io::read_image(item.input.path, image_limits));
                } catch (const mmt::error& e) {
                    item.error = e.what();
                }
            }
            return item;
        });

    for (std::size_t shard = index.next_shard(); shard < layout.end_shard(); ++shard) {
        detail::shard_builder builder(embedder, images);
        const collection_progress before = progress;
        const auto report = [&] {
            progress.done = before.done + builder.entries.size();
            progress.failed = before.failed + builder.failed;
            if (options.on_progress) options.on_progress(progress);
        };
        for (std::size_t p = layout.shard_begin(shard); p < layout.shard_end(shard); ++p) {
            std::optional<detail::prepared_input> item = workers.pop();
            if (!item) fail<io_error>("embed_collection: the inputs ended at position ", p, ", expected ", layout.end());
            if (builder.add(std::move(*item), options.batch_size)) {
                builder.flush();
                report();
            }
        }
        builder.flush();
        index.write_shard(shard, builder.rows, builder.entries);
        report();
    }
    return progress;
}

}  // namespace mmt::pipelines
