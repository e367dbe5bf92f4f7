// Image subcommands: preprocess-image (CLIP-style image processors); classify-image, embed
// and search with any text-image embedder, chosen by the model's config.json
// (pipelines/text_image_embedders.hpp). search ranks image files, or an index that
// embed-collection wrote (pipelines/embedding_index.hpp).
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "commands.hpp"
#include "option_checks.hpp"
#include "mmt/core/finite.hpp"
#include "mmt/io/image.hpp"
#include "mmt/io/json.hpp"
#include "mmt/io/safetensors.hpp"
#include "mmt/pipelines/embedding_index.hpp"
#include "mmt/pipelines/image_search.hpp"
#include "mmt/pipelines/text_image_embedders.hpp"
#include "mmt/pipelines/zero_shot_image_classification.hpp"
#include "mmt/preprocess/image.hpp"

namespace mmt::cli {

namespace {
std::vector<std::string> split_labels(const std::string& list) {
    std::vector<std::string> labels;
    std::stringstream in(list);
    std::string label;
    while (std::getline(in, label, ',')) {
        const auto first = label.find_first_not_of(' ');
        const auto last = label.find_last_not_of(' ');
        if (first == std::string::npos) fail<input_error>("classify-image: --labels \"", list, "\" has an empty label");
        labels.push_back(label.substr(first, last - first + 1));
    }
    if (labels.empty()) fail<input_error>("classify-image: --labels is empty, expected e.g. \"cat,dog,car\"");
    return labels;
}

void add_preprocess_image(CLI::App& app) {
    struct options {
        std::filesystem::path model, image, out;
    };
    auto o = std::make_shared<options>();
    auto* cmd = app.add_subcommand("preprocess-image", "The model's image processor (CLIP, SigLIP, Chinese-CLIP): write pixel_values [1, 3, H, W] of one image");
    cmd->add_option("--model", o->model, "Model directory with preprocessor_config.json")->required();
    cmd->add_option("IMAGE", o->image, "PNG or JPEG file")->required();
    cmd->add_option("--out", o->out, "safetensors file to write")->required();
    cmd->callback([o] {
        const auto processor = preprocess::clip_image_processor::from_pretrained(o->model);
        const tensor<4> pixels = processor.preprocess(std::vector<io::rgb_image>{io::read_image(o->image, processor.image_limits())});
        io::safetensors_writer writer;
        writer.add("pixel_values", pixels);
        writer.save(o->out);
        std::printf("pixel_values %s\n", io::shape_string({pixels.shape().begin(), pixels.shape().end()}).c_str());
    });
}

void add_classify_image(CLI::App& app) {
    struct options {
        std::filesystem::path model, image;
        std::string labels, hypothesis_template = pipelines::default_hypothesis_template;
    };
    auto o = std::make_shared<options>();
    auto* cmd = app.add_subcommand("classify-image", "Zero-shot image classification: probability of each label, best first");
    cmd->add_option("--model", o->model, "Text-image model directory (CLIP, SigLIP or Chinese-CLIP): config, weights, tokenizer, preprocessor")->required();
    cmd->add_option("IMAGE", o->image, "PNG or JPEG file")->required();
    cmd->add_option("--labels", o->labels, "Comma-separated labels, e.g. \"cat,dog,car\"")->required();
    cmd->add_option("--template", o->hypothesis_template, "Prompt with {} for the label")->capture_default_str();
    cmd->callback([o] {
        const auto embedder = pipelines::text_image_embedder_from_pretrained(o->model, model_options());
        const auto results = pipelines::classify_image(*embedder, io::read_image(o->image, embedder->image_limits()), split_labels(o->labels), o->hypothesis_template);
        check_finite_scores(results, "classify-image");
        for (const auto& r : results)
            std::printf("%.4f  %s\n", r.score, r.label.c_str());
    });
}

void add_embed(CLI::App& app) {
    struct options {
        std::filesystem::path model, out;
        std::vector<std::filesystem::path> images;
        std::vector<std::string> texts;
    };
    auto o = std::make_shared<options>();
    auto* cmd = app.add_subcommand("embed", "L2-normalised embeddings of images and/or texts (CLIP, SigLIP, Chinese-CLIP)");
    cmd->add_option("--model", o->model, "Text-image model directory (CLIP, SigLIP or Chinese-CLIP): config, weights, tokenizer, preprocessor")->required();
    auto* image = cmd->add_option("--image", o->images, "Image files");
    auto* text = cmd->add_option("--text", o->texts, "Texts");
    cmd->add_option("--out", o->out, "safetensors file to write (image_embeds, text_embeds)")->required();
    cmd->callback([o, image, text] {
        if (image->count() == 0 && text->count() == 0) fail<input_error>("embed: give --image FILE... and/or --text TEXT...");
        const auto embedder = pipelines::text_image_embedder_from_pretrained(o->model, model_options());
        io::safetensors_writer writer;
        auto write = [&](const char* name, const tensor<2>& t) {
            check_finite(t, std::string("embed: ") + name);
            writer.add(name, t);
            std::printf("%s %s\n", name, io::shape_string({t.shape().begin(), t.shape().end()}).c_str());
        };
        if (!o->images.empty()) write("image_embeds", embedder->embed_image_files(o->images));
        if (!o->texts.empty()) write("text_embeds", embedder->embed_many_texts(o->texts));
        writer.save(o->out);
    });
}

// The queries' embeddings, texts first: [texts + images, dim].
tensor<2> embed_queries(const interfaces::text_image_embedder& embedder, const std::vector<std::string>& texts,
                        const std::vector<std::filesystem::path>& images) {
    const auto checked = [](tensor<2> embeds) {
        check_finite(embeds, "search: the queries' embeddings");
        return embeds;
    };
    if (images.empty()) return checked(embedder.embed_many_texts(texts));
    const tensor<2> image_embeds = embedder.embed_image_files(images);
    if (texts.empty()) return checked(image_embeds);
    return checked(xt::concatenate(xt::xtuple(embedder.embed_many_texts(texts), image_embeds), 0));
}

void add_search(CLI::App& app) {
    struct options {
        std::filesystem::path model, index;
        std::vector<std::string> texts;
        std::vector<std::filesystem::path> query_images, images;
        std::size_t top_k = 0;
        bool json = false;
    };
    auto o = std::make_shared<options>();
    auto* cmd = app.add_subcommand("search", "Rank image files, or an index written by embed-collection, by similarity to text and image queries");
    cmd->add_option("--model", o->model, "Text-image model directory (CLIP, SigLIP or Chinese-CLIP): config, weights, tokenizer, preprocessor")->required();
    // One value per flag, so that IMAGE files may follow.
    cmd->add_option("--query", o->texts, "A text to search for (repeatable)")->allow_extra_args(false);
    cmd->add_option("--image", o->query_images, "An image to search for (repeatable)")->allow_extra_args(false);
    cmd->add_option("--index", o->index, "Index folder written by embed-collection with this model, instead of IMAGE files");
    cmd->add_option("--top-k", o->top_k, "Hits per query (default: 10 with --index, every image otherwise)")->check(positive<std::size_t>());
    cmd->add_flag("--json", o->json, "One JSON document: for each query its hits, with rank, id, path and score");
    cmd->add_option("IMAGE", o->images, "Image files to rank");
    cmd->callback([o] {
        if (o->texts.empty() && o->query_images.empty()) fail<input_error>("search: nothing to search for; give --query TEXT and/or --image FILE");
        if (o->index.empty() == o->images.empty())
            fail<input_error>(o->index.empty() ? "search: nothing to search in; give IMAGE files or --index DIR"
                                               : "search: give IMAGE files or --index DIR, not both");
        std::optional<pipelines::embedding_index> index;
        if (!o->index.empty()) {  // before the model loads: a wrong index fails at once
            index.emplace(o->index);
            index->check_model(pipelines::index_format::model_name(o->model));
        }
        const std::size_t k = o->top_k ? o->top_k : index ? 10 : o->images.size();
        const auto embedder = pipelines::text_image_embedder_from_pretrained(o->model, model_options());
        const tensor<2> queries = embed_queries(*embedder, o->texts, o->query_images);  // [queries, dim]
        std::vector<std::vector<pipelines::index_hit>> results;
        if (index) {
            results = index->search(queries, k);
        } else {
            const tensor<2> embeds = embedder->embed_image_files(o->images);  // [images, dim]
            check_finite(embeds, "search: the images' embeddings");
            for (const auto& hits : pipelines::nearest(queries, embeds, k)) {
                std::vector<pipelines::index_hit>& named = results.emplace_back();
                for (const auto& hit : hits) named.push_back({o->images[hit.index].string(), o->images[hit.index].string(), hit.score});
            }
        }
        std::vector<std::pair<const char*, std::string>> asked;  // modality, query
        for (const auto& text : o->texts) asked.emplace_back("text", text);
        for (const auto& image : o->query_images) asked.emplace_back("image", image.string());
        if (o->json) {
            io::ordered_json out{{"results", io::ordered_json::array()}};
            for (std::size_t q = 0; q < results.size(); ++q) {
                io::ordered_json hits = io::ordered_json::array();
                for (std::size_t rank = 0; rank < results[q].size(); ++rank)
                    hits.push_back({{"rank", rank + 1}, {"id", results[q][rank].id}, {"path", results[q][rank].path}, {"score", results[q][rank].score}});
                out["results"].push_back({{"modality", asked[q].first}, {"query", asked[q].second}, {"hits", std::move(hits)}});
            }
            std::printf("%s\n", out.dump(2).c_str());
            return;
        }
        for (std::size_t q = 0; q < results.size(); ++q) {
            if (results.size() > 1) std::printf("%s%s: %s\n", q ? "\n" : "", asked[q].first, asked[q].second.c_str());
            for (std::size_t rank = 0; rank < results[q].size(); ++rank)
                std::printf("%zu. %.4f  %s\n", rank + 1, results[q][rank].score, results[q][rank].path.c_str());
        }
    });
}
}  // namespace

void add_clip_commands(CLI::App& app) {
    add_preprocess_image(app);
    add_classify_image(app);
    add_embed(app);
    add_search(app);
}

}  // namespace mmt::cli
