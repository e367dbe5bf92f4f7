// pipelines::embedding_index: exact top-k over the shards of an index folder
// against a brute-force ranking, and a clear error for every broken index.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "mmt/pipelines/embedding_index.hpp"
#include "support/data.hpp"
#include "support/embedding_index.hpp"
#include "support/files.hpp"
#include "support/kernels.hpp"
#include "support/threads.hpp"
#include "support/throws.hpp"

using namespace mmt;

namespace {

// Rows of multiples of 1/2 in [-1, 1]: every dot product is a multiple of 1/4 that
// float holds exactly whatever the order of the sums, so every kernel and thread
// count agrees with a double reference to the bit, and equal scores are common.
tensor<2> half_step_rows(std::size_t rows, std::size_t dim, std::uint32_t seed) {
    std::mt19937 gen(seed);
    std::uniform_int_distribution<int> step(-2, 2);
    tensor<2> t({rows, dim});
    for (auto& v : t) v = 0.5f * float(step(gen));
    return t;
}

// Positions of the k best rows of `all` for `query`: higher score, then lower position.
std::vector<std::pair<double, std::size_t>> brute_force_top_k(const tensor<2>& all, const tensor<2>& queries, std::size_t q, std::size_t k) {
    std::vector<std::pair<double, std::size_t>> scored;
    for (std::size_t r = 0; r < all.shape(0); ++r) {
        double dot = 0;
        for (std::size_t i = 0; i < all.shape(1); ++i) dot += double(all(r, i)) * double(queries(q, i));
        scored.push_back({dot, r});
    }
    std::sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
    scored.resize(std::min(k, scored.size()));
    return scored;
}

// A valid index of two shards, 3 and 2 rows of 4: what the error cases damage.
std::filesystem::path small_index(const std::string& name) {
    const auto dir = test::scratch_dir(name);
    test::write_index(dir, {half_step_rows(3, 4, 1), half_step_rows(2, 4, 2)}, "test/model",
                      {{"a", "a.png"}, {"b", "b.png"}, {"c", "c.png"}, {"d", "d.png"}, {"e", "e.png"}});
    return dir;
}

}  // namespace

TEST_CASE("pipelines.embedding_index: top-k equals a brute-force ranking over uneven shards, for several queries, k past the rows, ties" *
          doctest::test_suite("unit")) {
    const std::size_t dim = 37;
    const std::vector<std::size_t> sizes{5, 0, 130, 1, 17};  // one empty shard
    std::vector<tensor<2>> shards;
    for (std::size_t s = 0; s < sizes.size(); ++s) shards.push_back(half_step_rows(sizes[s], dim, std::uint32_t(10 + s)));
    xt::view(shards[4], xt::range(0, 5)) = shards[0];  // the last shard repeats the first: equal scores
    tensor<2> all({153, dim});
    std::vector<test::index_input> inputs;
    for (const auto& shard : shards)
        for (std::size_t r = 0; r < shard.shape(0); ++r) {
            xt::view(all, inputs.size()) = xt::view(shard, r);
            inputs.push_back({"input-" + std::to_string(inputs.size()), "images/" + std::to_string(inputs.size()) + ".png"});
        }
    const auto dir = test::scratch_dir("index_top_k");
    test::write_index(dir, shards, "test/model", inputs);

    const pipelines::embedding_index index(dir);
    CHECK(index.size() == 153);
    CHECK(index.dim() == dim);
    CHECK(index.model() == "test/model");
    CHECK(index.modality() == "image");
    CHECK(index.failed() == 0);

    const tensor<2> queries = half_step_rows(6, dim, 99);
    const auto ranking = brute_force_top_k(all, queries, 0, all.shape(0));
    CHECK(std::adjacent_find(ranking.begin(), ranking.end(), [](const auto& a, const auto& b) { return a.first == b.first; }) != ranking.end());
    // 1 and 3 queries take dot_rows, 6 the packed GEMM (ops::few_queries).
    for (const std::size_t n : {std::size_t(1), std::size_t(3), std::size_t(6)}) {
        const tensor<2> batch = xt::view(queries, xt::range(0, n));
        for (const std::size_t k : {std::size_t(1), std::size_t(10), std::size_t(500)}) {
            test::for_each_kernel([&](kernel_isa isa) {
                for (const int threads : {1, 2}) {
                    const auto results = test::run_with_threads(threads, [&] { return index.search(batch, k); });
                    REQUIRE(results.size() == n);
                    for (std::size_t q = 0; q < n; ++q) {
                        INFO(n, " queries, query ", q, ", k ", k, ", ", std::string(kernel_name(isa)), ", ", threads, " threads");
                        std::vector<std::string> got, want;
                        std::vector<double> got_scores, want_scores;
                        for (const auto& hit : results[q]) {
                            got.push_back(hit.id + " " + hit.path);
                            got_scores.push_back(hit.score);
                        }
                        for (const auto& [score, position] : brute_force_top_k(all, batch, q, k)) {
                            want.push_back(inputs[position].id + " " + inputs[position].path);
                            want_scores.push_back(score);
                        }
                        CHECK(got == want);
                        CHECK(got_scores == want_scores);
                    }
                }
            });
        }
    }
}

TEST_CASE("pipelines.embedding_index: failed inputs are counted and skipped; no shards is an empty index" * doctest::test_suite("unit")) {
    const auto dir = test::scratch_dir("index_failed");
    test::write_index_shard(dir, 0, half_step_rows(2, 4, 3), "test/model", "text");
    test::write_manifest(dir, {{{"id", 7}, {"path", "x.txt"}, {"shard", 0}, {"row", 1}},
                               {{"id", "broken"}, {"path", "y.txt"}, {"error", "not UTF-8"}},
                               {{"id", "z"}, {"path", "z.txt"}, {"shard", 0}, {"row", 0}}});
    const pipelines::embedding_index index(dir);
    CHECK(index.size() == 2);
    CHECK(index.failed() == 1);
    CHECK(index.modality() == "text");
    const auto hits = index.search(half_step_rows(1, 4, 3), 5)[0];  // row 0 of the shard itself
    REQUIRE(hits.size() == 2);
    CHECK(hits[0].id == "z");
    CHECK(hits[1].id == "7");  // an integer id, in decimal
    CHECK(hits[1].path == "x.txt");

    const auto empty = test::scratch_dir("index_empty");
    test::write_manifest(empty, {{{"id", "broken"}, {"path", "y.png"}, {"error", "not an image"}}});
    const pipelines::embedding_index none(empty);
    CHECK(none.size() == 0);
    CHECK(none.failed() == 1);
    none.check_model("any/model");
    const auto results = none.search(half_step_rows(2, 4, 4), 3);
    REQUIRE(results.size() == 2);
    CHECK(results[0].empty());
}

TEST_CASE("pipelines.embedding_index: a --shard K/N part's shards need not start at 0; stray files are not shards" *
          doctest::test_suite("unit")) {
    const auto dir = test::scratch_dir("index_part");
    test::write_index_shard(dir, 3, half_step_rows(2, 4, 5), "test/model");
    test::write_index_shard(dir, 4, half_step_rows(1, 4, 6), "test/model");
    test::write_file(dir / "embeddings-00005.safetensors.tmp", "a shard still being written");
    test::write_manifest(dir, {{{"id", "a"}, {"path", "a.png"}, {"shard", 3}, {"row", 0}},
                               {{"id", "b"}, {"path", "b.png"}, {"shard", 3}, {"row", 1}},
                               {{"id", "c"}, {"path", "c.png"}, {"shard", 4}, {"row", 0}}});
    const pipelines::embedding_index index(dir);
    CHECK(index.size() == 3);
    const auto hits = index.search(half_step_rows(1, 4, 6), 1)[0];  // shard 4's row itself
    REQUIRE(hits.size() == 1);
    CHECK(hits[0].id == "c");
    test::write_manifest(dir, {{{"id", "a"}, {"path", "a.png"}, {"shard", 2}, {"row", 0}}});
    test::check_throws<format_error>([&] { pipelines::embedding_index{dir}; },
                                     {"line 1", "shard 2, but embeddings-00002.safetensors is missing (the index has 2 shards)"});
}

TEST_CASE("pipelines.embedding_index: another model, another width and broken files are errors naming the file" * doctest::test_suite("unit")) {
    using pipelines::embedding_index;
    SUBCASE("another model or width") {
        const embedding_index index(small_index("index_model"));
        test::check_throws<input_error>([&] { index.check_model("other/model"); }, {"holds embeddings of model 'test/model', not of 'other/model'"});
        test::check_throws<shape_error>([&] { index.search(half_step_rows(1, 5, 1), 3); }, {"4-d embeddings of model 'test/model'; expected 4-d queries, got 5-d"});
    }
    SUBCASE("missing folder and manifest") {
        const auto dir = small_index("index_missing");
        test::check_throws<io_error>([&] { embedding_index(dir / "nowhere"); }, {"nowhere' is not a folder"});
        std::filesystem::remove(dir / "manifest.jsonl");
        test::check_throws<io_error>([&] { embedding_index{dir}; }, {"manifest.jsonl"});
    }
    SUBCASE("truncated shard") {
        const auto dir = small_index("index_truncated");
        const auto shard = dir / "embeddings-00001.safetensors";
        std::filesystem::resize_file(shard, std::filesystem::file_size(shard) - 4);
        test::check_throws<format_error>([&] { embedding_index{dir}; }, {"embeddings-00001.safetensors", "truncated"});
    }
    SUBCASE("wrong dtype") {
        const auto dir = small_index("index_dtype");
        io::safetensors_writer writer;
        writer.add_raw("embeddings", dtype::f16, {2, 4}, std::string(16, '\0'));
        writer.set_metadata("model", "test/model");
        writer.set_metadata("dim", "4");
        writer.set_metadata("modality", "image");
        writer.save(dir / "embeddings-00001.safetensors");
        test::check_throws<format_error>([&] { embedding_index{dir}; }, {"embeddings-00001.safetensors", "is F16 [2, 4]; expected F32"});
    }
    SUBCASE("shards that disagree, or lack metadata") {
        const auto dir = small_index("index_disagree");
        test::write_index_shard(dir, 1, half_step_rows(2, 4, 2), "other/model");
        test::check_throws<format_error>([&] { embedding_index{dir}; }, {"embeddings-00001.safetensors", "'other/model'", "'test/model'"});
        io::safetensors_writer writer;
        writer.add("embeddings", half_step_rows(2, 4, 2));
        writer.save(dir / "embeddings-00001.safetensors");
        test::check_throws<format_error>([&] { embedding_index{dir}; }, {"embeddings-00001.safetensors", "no metadata \"model\""});
    }
    SUBCASE("manifest lines past a shard's rows, past the shards, twice, missing, not JSON") {
        const auto dir = small_index("index_manifest");
        auto line = [](std::size_t shard, std::size_t row) { return io::json{{"id", "x"}, {"path", "x.png"}, {"shard", shard}, {"row", row}}; };
        const std::vector<io::json> good{line(0, 0), line(0, 1), line(0, 2), line(1, 0), line(1, 1)};
        auto with_last = [&](const io::json& last) {
            auto lines = good;
            lines.back() = last;
            test::write_manifest(dir, lines);
        };
        with_last(line(1, 2));
        test::check_throws<format_error>([&] { embedding_index{dir}; }, {"manifest.jsonl line 5", "row 2 of embeddings-00001.safetensors, which has 2 rows"});
        with_last(line(2, 0));
        test::check_throws<format_error>([&] { embedding_index{dir}; }, {"line 5", "embeddings-00002.safetensors is missing"});
        with_last(line(0, 1));
        test::check_throws<format_error>([&] { embedding_index{dir}; }, {"line 5", "row 1 of embeddings-00000.safetensors is listed twice, here and on line 2"});
        with_last(io::json{{"id", "x"}, {"path", "x.png"}, {"error", "unreadable"}});
        test::check_throws<format_error>([&] { embedding_index{dir}; }, {"embeddings-00001.safetensors", "row 1 is on no line of manifest.jsonl"});
        with_last(io::json{{"id", "x"}, {"shard", 1}, {"row", 1}});
        test::check_throws<format_error>([&] { embedding_index{dir}; }, {"line 5", "\"path\" is missing"});
        test::write_file(dir / "manifest.jsonl", "{\"id\": \"x\",\n");
        test::check_throws<format_error>([&] { embedding_index{dir}; }, {"manifest.jsonl line 1", "not valid JSON"});
    }
}
