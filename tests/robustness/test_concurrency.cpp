// Loaded models are const and shared: one instance of each tiny fixture, run by 8
// threads at once on the fixture's own inputs, gives exactly (bit for bit) the
// outputs of a serial run. Each thread runs several times so the runs overlap.
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "mmt/io/image.hpp"
#include "mmt/io/safetensors.hpp"
#include "mmt/models/auto_model.hpp"
#include "mmt/models/named_tensors.hpp"
#include "mmt/pipelines/clip_embedder.hpp"
#include "mmt/pipelines/document_tagging.hpp"
#include "mmt/pipelines/transcription.hpp"
#include "support/data.hpp"
#include "support/demo_model.hpp"
#include "support/layoutlm_model.hpp"

using namespace mmt;

namespace {

constexpr int threads = 8;
constexpr int runs_per_thread = 3;

bool same_bits(const dyn_tensor<float>& a, const dyn_tensor<float>& b) {
    return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

bool same_outputs(const named_outputs& a, const named_outputs& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i].first != b[i].first || !same_bits(a[i].second, b[i].second)) return false;
    return true;
}

// Runs `work` (returning a result) serially once, then on 8 threads at once, and
// checks that every concurrent result equals the serial one under `same`.
template <class Work, class Same>
void check_shared(Work&& work, Same&& same) {
    const auto serial = work();
    std::vector<int> mismatches(threads, 0);
    std::vector<std::string> failures(threads);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            try {
                for (int r = 0; r < runs_per_thread; ++r)
                    if (!same(work(), serial)) ++mismatches[t];
            } catch (const std::exception& e) {
                failures[t] = e.what();
            }
        });
    }
    for (auto& thread : pool) thread.join();
    for (int t = 0; t < threads; ++t) {
        CAPTURE(t);
        CHECK(failures[t].empty());
        CHECK(mismatches[t] == 0);
    }
}

void check_model(const std::string& fixture) {
    const auto model = auto_model::from_pretrained(test::data_path(fixture));
    const io::safetensors_file reference(test::data_path(fixture + "/reference.safetensors"));
    const auto inputs = named_inputs::from_file(reference);
    check_shared([&] { return model.forward(inputs); }, same_outputs);
}

}  // namespace

TEST_CASE("robustness.concurrency: clip-tiny shared by 8 threads gives the serial outputs bit for bit" *
          doctest::test_suite("unit")) {
    check_model("clip-tiny");
}

TEST_CASE("robustness.concurrency: layoutlm-tiny-base shared by 8 threads gives the serial outputs bit for bit" *
          doctest::test_suite("unit")) {
    check_model("layoutlm-tiny-base");
}

TEST_CASE("robustness.concurrency: layoutlm-tiny-token-cls shared by 8 threads gives the serial outputs bit for bit" *
          doctest::test_suite("unit")) {
    check_model("layoutlm-tiny-token-cls");
}

TEST_CASE("robustness.concurrency: wav2vec2-tiny-ctc shared by 8 threads gives the serial outputs bit for bit" *
          doctest::test_suite("unit")) {
    check_model("wav2vec2-tiny-ctc");
}

TEST_CASE("robustness.concurrency: wav2vec2-tiny-stable-ctc shared by 8 threads gives the serial outputs bit for bit" *
          doctest::test_suite("unit")) {
    check_model("wav2vec2-tiny-stable-ctc");
}

TEST_CASE("robustness.concurrency: wav2vec2-tiny-pretraining shared by 8 threads gives the serial outputs bit for bit" *
          doctest::test_suite("unit")) {
    check_model("wav2vec2-tiny-pretraining");
}

TEST_CASE("robustness.concurrency: a CLIP embedder (tokenizer, image processor, model) shared by 8 threads" *
          doctest::test_suite("unit")) {
    const auto clip = pipelines::clip_embedder::from_pretrained(test::clip_demo_model());
    const auto image = io::read_image(test::data_path("clip-images/chelsea.png"));
    const auto same = [](const tensor<2>& a, const tensor<2>& b) {
        return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
    };
    check_shared([&] { return clip.embed_texts({"a photo of a cat", "a rocket on its launch pad"}); }, same);
    check_shared([&] { return clip.embed_images({image}); }, same);
}

TEST_CASE("robustness.concurrency: a document tagger (WordPiece, windows, LayoutLM) shared by 8 threads" *
          doctest::test_suite("unit")) {
    const auto tagger = pipelines::document_model::from_pretrained(test::layoutlm_token_cls_model());
    pipelines::ocr_document doc;
    doc.width = 612;
    doc.height = 792;
    for (std::size_t i = 0; i < 40; ++i) {  // longer than one 64-token window
        doc.words.push_back(i % 3 ? "invoice" : "total:");
        const double x = 20.0 + 14.0 * static_cast<double>(i % 10), y = 30.0 + 20.0 * static_cast<double>(i / 10);
        doc.boxes.push_back({x, y, x + 12, y + 10});
    }
    const auto same = [](const std::vector<pipelines::word_label>& a, const std::vector<pipelines::word_label>& b) {
        if (a.size() != b.size()) return false;
        for (std::size_t i = 0; i < a.size(); ++i)
            if (a[i].label_id != b[i].label_id || std::memcmp(&a[i].score, &b[i].score, sizeof(float)) != 0 ||
                a[i].window != b[i].window)
                return false;
        return true;
    };
    check_shared([&] { return tagger.tag(doc); }, same);
}

TEST_CASE("robustness.concurrency: a speech recognizer (resampling, chunks, CTC) shared by 8 threads" *
          doctest::test_suite("unit")) {
    const auto recognizer = pipelines::speech_recognizer::from_pretrained(test::data_path("wav2vec2-tiny-ctc"));
    pipelines::transcription_options options;
    options.chunk_length_s = 1.0;
    options.timestamps = pipelines::timestamp_level::character;
    const auto same = [](const pipelines::transcription& a, const pipelines::transcription& b) {
        if (a.text != b.text || a.chunks.size() != b.chunks.size()) return false;
        for (std::size_t i = 0; i < a.chunks.size(); ++i)
            if (a.chunks[i].text != b.chunks[i].text || a.chunks[i].start != b.chunks[i].start || a.chunks[i].end != b.chunks[i].end)
                return false;
        return true;
    };
    check_shared([&] { return recognizer.transcribe_file(test::data_path("wav2vec2-audio/speech_22050.wav"), options); }, same);
}
