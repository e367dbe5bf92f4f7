// Faults in the files a model is loaded from: checkpoints truncated or rewritten
// after they were opened, broken vocabularies and preprocessor settings. Each is
// a clear error, or HF's documented behaviour where HF accepts the file.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "mmt/io/byte_source.hpp"
#include "mmt/io/checkpoint.hpp"
#include "mmt/io/safetensors.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/models/clip/clip_model.hpp"
#include "mmt/preprocess/image.hpp"
#include "mmt/tokenizers/clip_bpe.hpp"
#include "mmt/tokenizers/ctc_decode.hpp"
#include "mmt/tokenizers/wordpiece.hpp"
#include "support/data.hpp"
#include "support/files.hpp"
#include "support/peak_memory.hpp"
#include "support/threads.hpp"
#include "support/throws.hpp"

using namespace mmt;
namespace fs = std::filesystem;

namespace {



fs::path bert_dir(const std::string& name, const std::string& vocab) {
    const fs::path dir = test::scratch_dir(name);
    test::write_file(dir / "vocab.txt", vocab);
    return dir;
}

fs::path clip_vocab_dir(const std::string& name, const std::string& vocab, const std::string& merges) {
    const fs::path dir = test::scratch_dir(name);
    test::write_file(dir / "vocab.json", vocab);
    test::write_file(dir / "merges.txt", merges);
    return dir;
}

}  // namespace

TEST_CASE("robustness.faults: a checkpoint truncated after it was opened is an io_error at load, never SIGBUS" *
          doctest::test_suite("unit")) {
    const fs::path dir = test::copy_model(test::data_path("clip-tiny"), "robust_truncated_while_open");
    const fs::path file = dir / "model.safetensors";
    const io::safetensors_file st(file);
    const auto names = st.names();  // in data order
    const io::tensor_info first = st.info(names.front());
    const io::tensor_info last = st.info(names.back());
    fs::resize_file(file, fs::file_size(file) / 2);  // another process cuts the file

    CHECK(st.load<float>(names.front()).size() == first.numel());  // still on disk
    test::check_throws<io_error>([&] { st.load<float>(names.back()); },
                                 {file.string(), "while reading bytes", "when opened", "truncated or replaced by another process"});
    CHECK(last.nbytes > 0);

    // The same through a model load: the checkpoint was opened before the cut.
    fs::copy_file(test::data_path("clip-tiny/model.safetensors"), file, fs::copy_options::overwrite_existing);
    io::weight_loader loader(io::checkpoint::open(dir), clip::checkpoint_names());
    fs::resize_file(file, 4096);
    test::check_throws<io_error>([&] { clip::clip_model::load(clip::config::from_file(dir / "config.json"), loader); },
                                 {file.string(), "truncated or replaced"});
}

TEST_CASE("robustness.faults: a large read on two threads gives the file's bytes, and a cut file is an io_error from either" *
          doctest::test_suite("unit")) {
    // Reads of 2 MiB and more run in 1 MiB slices on all threads; an exception thrown
    // on a worker thread must reach the caller as it would on one thread.
    const fs::path file = test::scratch_dir("robust_parallel_read") / "bytes.bin";
    std::string bytes(std::size_t(6) << 20, '\0');
    for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = char(i * 2654435761u >> 24);
    test::write_file(file, bytes);
    const auto source = io::byte_source::open(file);
    for (const int threads : {1, 2}) {
        INFO(threads, " threads");
        const test::thread_count_guard guard(threads);
        std::string read(bytes.size() - 5, '\0');
        source.read(5, read.size(), read.data());
        CHECK(read == bytes.substr(5));
    }
    fs::resize_file(file, (std::size_t(7) << 19) + 3);  // 3.5 MiB + 3: cut inside the read's second slice
    for (const int threads : {1, 2}) {
        INFO(threads, " threads");
        const test::thread_count_guard guard(threads);
        std::string read(bytes.size(), '\0');
        test::check_throws<io_error>([&] { source.read(0, read.size(), read.data()); },
                                     {file.string(), "while reading bytes [0, 6291456)", "truncated or replaced by another process"});
        source.read(0, std::size_t(3) << 20, read.data());  // what is still there reads
        CHECK(read.compare(0, std::size_t(3) << 20, bytes, 0, std::size_t(3) << 20) == 0);
    }
}

TEST_CASE("robustness.faults: a checkpoint rewritten in place after opening reads its new bytes" *
          doctest::test_suite("unit")) {
    // Documented behaviour: the header is validated once, at open; the data is read at load.
    const fs::path path = test::scratch_dir("robust_rewritten") / "w.safetensors";
    io::safetensors_writer writer;
    dyn_tensor<float> w0(std::vector<std::size_t>{2});
    w0(0) = 1.0f;
    w0(1) = 2.0f;
    writer.add("w", w0);
    writer.save(path);
    const io::safetensors_file st(path);
    const auto offset = fs::file_size(path) - 8;
    {
        std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(static_cast<std::streamoff>(offset));
        const float values[2] = {5.0f, -7.0f};
        f.write(reinterpret_cast<const char*>(values), sizeof(values));
    }
    const auto w = st.load<float>("w");
    CHECK(w(0) == 5.0f);
    CHECK(w(1) == -7.0f);
}

TEST_CASE("robustness.faults: a checkpoint truncated before opening, or a missing shard, fails at open" *
          doctest::test_suite("unit")) {
    const fs::path dir = test::copy_model(test::data_path("clip-tiny"), "robust_truncated_before");
    fs::resize_file(dir / "model.safetensors", fs::file_size(dir / "model.safetensors") - 100);
    test::check_throws<format_error>([&] { clip::clip_model::from_pretrained(dir); },
                                     {"model.safetensors", "run past the data section", "truncated file?"});

    // A sharded checkpoint whose index names a shard that is not there.
    fs::remove(dir / "model.safetensors");
    test::write_file(dir / "model.safetensors.index.json",
               R"({"metadata": {}, "weight_map": {"logit_scale": "model-00001-of-00002.safetensors"}})");
    test::check_throws<io_error>([&] { clip::clip_model::from_pretrained(dir); },
                                 {"model-00001-of-00002.safetensors", "cannot open", "No such file"});
}

TEST_CASE("robustness.faults: an empty or directory checkpoint is a clear error" * doctest::test_suite("unit")) {
    const fs::path dir = test::copy_model(test::data_path("clip-tiny"), "robust_empty_checkpoint");
    std::ofstream(dir / "model.safetensors", std::ios::trunc).close();
    test::check_throws<format_error>([&] { clip::clip_model::from_pretrained(dir); },
                                     {"model.safetensors", "0 bytes, expected at least 8"});
    fs::remove(dir / "model.safetensors");
    fs::create_directory(dir / "model.safetensors");
    test::check_throws<io_error>([&] { io::safetensors_file f(dir / "model.safetensors"); }, {"not a regular file"});
}

TEST_CASE("robustness.faults: missing special tokens are config errors naming the token" * doctest::test_suite("unit")) {
    const fs::path no_cls = bert_dir("robust_no_cls", "[PAD]\n[UNK]\n[SEP]\n[MASK]\nhello\n");
    test::check_throws<config_error>([&] { tokenizers::wordpiece_tokenizer::from_directory(no_cls); },
                                     {"vocab.txt", "special token cls_token \"[CLS]\"", "not in the vocabulary"});

    // special_tokens_map.json names a token the vocabulary lacks.
    const fs::path renamed = bert_dir("robust_renamed_special", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n");
    test::write_file(renamed / "special_tokens_map.json", R"({"sep_token": "</s>"})");
    test::check_throws<config_error>([&] { tokenizers::wordpiece_tokenizer::from_directory(renamed); },
                                     {"special token sep_token \"</s>\""});

    const fs::path no_eos = clip_vocab_dir("robust_clip_no_eos", R"({"a": 0, "<|startoftext|>": 1})", "#version: 0.2\n");
    test::check_throws<config_error>([&] { tokenizers::clip_bpe_tokenizer::from_directory(no_eos); },
                                     {"vocab.json", "eos_token \"<|endoftext|>\""});
}

TEST_CASE("robustness.faults: duplicate tokens follow HF where it accepts them, duplicate ids are refused" *
          doctest::test_suite("unit")) {
    // vocab.txt: a repeated line takes the later id (HF's load_vocab); the earlier id decodes as [UNK].
    const fs::path dup = bert_dir("robust_dup_unk", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n[UNK]\n");
    const auto bert = tokenizers::wordpiece_tokenizer::from_directory(dup);
    CHECK(bert.unk_token_id() == 6);
    CHECK(bert.convert_tokens_to_ids({"zebra"}) == std::vector<std::int64_t>{6});
    CHECK(bert.decode({1, 5}, false) == "[UNK] hello");

    // vocab.json: two tokens with one id would leave one undecodable.
    const fs::path ids = clip_vocab_dir("robust_dup_ids", R"({"a": 0, "b": 0, "<|startoftext|>": 1, "<|endoftext|>": 2})",
                                        "#version: 0.2\n");
    test::check_throws<format_error>([&] { tokenizers::clip_bpe_tokenizer::from_directory(ids); },
                                     {"vocab.json", "tokens \"a\" and \"b\" both have id 0", "one token per id"});

    // merges.txt: a repeated pair takes the rank of its last line, as dict(zip(merges, range(n))).
    const std::string vocab =
        R"({"a": 0, "b": 1, "c</w>": 2, "ab": 3, "bc</w>": 4, "<|startoftext|>": 5, "<|endoftext|>": 6})";
    const auto once = tokenizers::clip_bpe_tokenizer::from_directory(
        clip_vocab_dir("robust_merges_once", vocab, "#version: 0.2\na b\nb c</w>\n"));
    const auto twice = tokenizers::clip_bpe_tokenizer::from_directory(
        clip_vocab_dir("robust_merges_twice", vocab, "#version: 0.2\na b\nb c</w>\na b\n"));
    CHECK(once.tokenize("abc") == std::vector<std::string>{"ab", "c</w>"});
    CHECK(twice.tokenize("abc") == std::vector<std::string>{"a", "bc</w>"});
}

TEST_CASE("robustness.faults: an added token with a huge id allocates nothing for the ids below it" *
          doctest::test_suite("unit")) {
    const fs::path dir = bert_dir("robust_huge_added_id", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n");
    test::write_file(dir / "tokenizer_config.json", R"({"added_tokens_decoder": {"1000000000000": {"content": "<ocr>"}}})");
    const auto grown = test::peak_growth([&] {
        const auto bert = tokenizers::wordpiece_tokenizer::from_directory(dir);
        CHECK(bert.encode("hello <ocr>", 5).input_ids == std::vector<std::int64_t>{2, 5, 1'000'000'000'000, 3, 0});
        CHECK(bert.decode({5, 1'000'000'000'000}) == "hello <ocr>");
        test::check_throws<input_error>([&] { bert.decode({999'999'999'999}); }, {"id 999999999999", "has no token"});
    });
    CHECK(test::stayed_small(grown));
}

TEST_CASE("robustness.faults: a crop larger than the resized image is zero-padded, as HF does" *
          doctest::test_suite("unit")) {
    preprocess::clip_image_processor_config config;
    config.size = {8, 0, 0};
    config.crop_size = {0, 12, 12};
    const preprocess::clip_image_processor processor(config);
    const io::rgb_image gray{16, 16, std::vector<std::uint8_t>(16 * 16 * 3, 200)};
    const auto pixels = processor.preprocess(gray);  // [3, 12, 12]
    REQUIRE(pixels.shape(1) == 12);
    REQUIRE(pixels.shape(2) == 12);
    for (std::size_t c = 0; c < 3; ++c) {
        const float pad = (0.0f - static_cast<float>(config.image_mean[c])) / static_cast<float>(config.image_std[c]);
        const float inside = (static_cast<float>(200 * config.rescale_factor) - static_cast<float>(config.image_mean[c])) /
                             static_cast<float>(config.image_std[c]);
        CHECK(pixels(c, 0, 0) == pad);    // offsets floor((8 - 12) / 2) = -2: two rows and columns of padding
        CHECK(pixels(c, 1, 11) == pad);
        CHECK(pixels(c, 2, 2) == inside);
        CHECK(pixels(c, 9, 9) == inside);
        CHECK(pixels(c, 10, 10) == pad);
    }
}

TEST_CASE("robustness.faults: impossible preprocessor values are config errors naming the key" *
          doctest::test_suite("unit")) {
    using preprocess::clip_image_processor_config;
    const auto parse = [](const std::string& text) {
        return clip_image_processor_config::from_json(io::parse_json(text, "preprocessor_config.json"), "preprocessor_config.json");
    };
    test::check_throws<config_error>([&] { parse(R"({"image_std": 0})"); },
                                     {"preprocessor_config.json", "\"image_std\"", "non-zero", "got 0 for channel 0"});
    test::check_throws<config_error>([&] { parse(R"({"size": 2.5})"); }, {"\"size\"", "whole number", "2.5"});
    test::check_throws<config_error>([&] { parse(R"({"crop_size": [224, -224]})"); }, {"\"crop_size\"", "width=-224"});
    test::check_throws<config_error>([&] { parse(R"({"size": {"height": 0, "width": 5}})"); }, {"\"size\"", "height=0"});
    test::check_throws<format_error>([&] { parse(R"({"rescale_factor": 1e999})"); }, {"not valid JSON", "number overflow"});
    test::check_throws<config_error>([&] { parse(R"({"image_mean": [0.5, "x", 0.5]})"); }, {"\"image_mean\""});
}

TEST_CASE("robustness.faults: a CTC vocab.json with a huge number, deep nesting or 40 000 tokens is a format_error" *
          doctest::test_suite("unit")) {
    const auto load = [](const std::string& name, const std::string& vocab) {
        const fs::path dir = test::scratch_dir(name);
        test::write_file(dir / "vocab.json", vocab);
        return tokenizers::wav2vec2_ctc_tokenizer::from_pretrained(dir);
    };
    test::check_throws<format_error>([&] { load("robust_ctc_huge_number", R"({"<pad>": 0, "A": 1e999})"); },
                                     {"vocab.json", "not valid JSON", "number overflow"});
    test::check_throws<format_error>([&] { load("robust_ctc_deep", std::string(5000, '[') + std::string(5000, ']')); },
                                     {"vocab.json", "nested deeper than 1000 levels"});
    std::string many = "{";
    for (int i = 0; i < 40000; ++i) many += (i ? ",\"t" : "\"t") + std::to_string(i) + "\": " + std::to_string(i);
    many += "}";
    test::check_throws<format_error>([&] { load("robust_ctc_many_keys", many); },
                                     {"vocab.json", "more than 32768 keys", "expected at most 32768"});
}
