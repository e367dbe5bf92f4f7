// pytorch_model.bin (io/pytorch_checkpoint.hpp) on the fixtures of
// tests/data/pytorch-bin: the re-saved models against their safetensors twins, the
// mixed-dtype file against its JSON, and the files a safe reader must refuse.
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "mmt/io/checkpoint.hpp"
#include "mmt/io/json.hpp"
#include "mmt/io/pytorch_checkpoint.hpp"
#include "mmt/io/safetensors.hpp"
#include "mmt/models/clip/clip_model.hpp"
#include "support/check_close.hpp"
#include "support/data.hpp"
#include "support/files.hpp"
#include "support/pytorch_bin.hpp"
#include "support/same_tensors.hpp"
#include "support/throws.hpp"
#include "support/tolerances.hpp"

using namespace mmt;

namespace {

std::string pytorch_bin_mixed() { return test::read_file(test::data_path("pytorch-bin/mixed_dtypes.bin")); }

io::pytorch_checkpoint pytorch_bin_from(const std::string& bytes) {
    return io::pytorch_checkpoint::from_bytes(bytes, "edited.bin");
}

std::uint32_t pytorch_bin_u32(const std::string& b, std::size_t at) {
    std::uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[at + std::size_t(i)]);
    return v;
}

// The same archive with a zip64 end record and locator before its end record, whose
// count, size and offset then say "look in the zip64 record".
std::string pytorch_bin_as_zip64(const std::string& zip) {
    const std::size_t end = zip.size() - 22;  // torch writes no archive comment
    REQUIRE(pytorch_bin_u32(zip, end) == 0x06054b50u);
    const std::uint64_t count = static_cast<unsigned char>(zip[end + 10]) | (static_cast<unsigned char>(zip[end + 11]) << 8);
    const std::uint64_t dir_size = pytorch_bin_u32(zip, end + 12), dir_at = pytorch_bin_u32(zip, end + 16);
    std::string out = zip.substr(0, end);
    const std::uint64_t end64_at = out.size();
    const std::pair<std::uint64_t, int> fields[] = {
        // zip64 end record: signature, its size after this field, versions, disks, counts, directory size and offset
        {0x06064b50, 4}, {44, 8}, {45, 2}, {45, 2}, {0, 4}, {0, 4}, {count, 8}, {count, 8}, {dir_size, 8}, {dir_at, 8},
        {0x07064b50, 4}, {0, 4}, {end64_at, 8}, {1, 4},  // its locator
        {0x06054b50, 4}, {0, 4}, {0xffff, 2}, {0xffff, 2}, {0xffffffff, 4}, {0xffffffff, 4}, {0, 2}};  // the end record
    for (const auto& [value, width] : fields) test::pytorch_bin::put_le(out, value, width);
    return out;
}

}  // namespace

TEST_CASE("io.pytorch_bin: clip-tiny, layoutlm-tiny-token-cls and wav2vec2-tiny-ctc re-saved as .bin hold their safetensors twins' tensors bit for bit, read in place" * doctest::test_suite("unit")) {
    for (const char* name : {"clip-tiny", "layoutlm-tiny-token-cls", "wav2vec2-tiny-ctc"}) {
        INFO(name);
        const auto dir = test::data_path(std::string("pytorch-bin/") + name);
        const io::checkpoint bin = io::checkpoint::open(dir);
        CHECK(bin.description() == (dir / "pytorch_model.bin").string());
        test::check_same_tensors(bin, io::checkpoint::open(test::data_path(name)));
        // A state dict's tensors are contiguous: none is copied out at open.
        CHECK(io::pytorch_checkpoint(dir / "pytorch_model.bin").sources()[1]->size() == 0);
    }
}

TEST_CASE("io.pytorch_bin: clip-tiny's three .bin shards through pytorch_model.bin.index.json" * doctest::test_suite("unit")) {
    const auto dir = test::data_path("pytorch-bin/clip-tiny-sharded");
    const io::checkpoint bin = io::checkpoint::open(dir);
    CHECK(bin.description() == (dir / "pytorch_model.bin.index.json").string() + " (3 shards)");
    test::check_same_tensors(bin, io::checkpoint::open(test::data_path("clip-tiny")));
}

TEST_CASE("io.pytorch_bin: CLIPModel loaded from clip-tiny's pytorch_model.bin reproduces HF's outputs" * doctest::test_suite("parity")) {
    const auto model = clip::clip_model::from_pretrained(test::data_path("pytorch-bin/clip-tiny"));
    const io::safetensors_file ref(test::data_path("clip-tiny/reference.safetensors"));
    const auto out = model.forward(ref.load<std::int64_t, 2>("input.input_ids"), ref.load<std::int64_t, 2>("input.attention_mask"),
                                   ref.load<float, 4>("input.pixel_values"));
    test::check_close(out.logits_per_image, ref.load<float>("output.logits_per_image"), test::tol::model_abs, "logits_per_image");
    test::check_close(out.text_embeds, ref.load<float>("output.text_embeds"), test::tol::model_abs, "text_embeds");
    test::check_close(out.image_embeds, ref.load<float>("output.image_embeds"), test::tol::model_abs, "image_embeds");
}

TEST_CASE("io.pytorch_bin: mixed_dtypes.bin gives mixed_dtypes.json's dtypes, shapes and values exactly, its strided view gathered" * doctest::test_suite("unit")) {
    const auto file = test::data_path("pytorch-bin/mixed_dtypes.bin");
    const io::checkpoint bin = io::checkpoint::open(file);
    const io::json expected = io::read_json_file(test::data_path("pytorch-bin/mixed_dtypes.json"));
    const std::map<std::string, mmt::dtype> dtypes = {
        {"torch.float16", dtype::f16}, {"torch.bfloat16", dtype::bf16}, {"torch.int64", dtype::i64}, {"torch.float32", dtype::f32}};
    REQUIRE(bin.names().size() == expected.size());
    for (auto it = expected.begin(); it != expected.end(); ++it) {
        INFO(it.key());
        const io::tensor_info& t = bin.info(it.key());
        CHECK(t.dtype == dtypes.at((*it)["dtype"].get<std::string>()));
        CHECK(t.shape == (*it)["shape"].get<std::vector<std::size_t>>());
        const auto values = (*it)["values"].get<std::vector<double>>();
        if (t.dtype == dtype::i64) {
            const auto got = bin.file_of(it.key()).load<std::int64_t>(it.key());
            REQUIRE(got.size() == values.size());
            for (std::size_t i = 0; i < values.size(); ++i) CHECK(got.data()[i] == std::int64_t(values[i]));
        } else {
            const auto got = bin.file_of(it.key()).load<float>(it.key());
            REQUIRE(got.size() == values.size());
            for (std::size_t i = 0; i < values.size(); ++i) CHECK(got.data()[i] == float(values[i]));
        }
    }
    const auto sources = io::pytorch_checkpoint(file).sources();
    CHECK(sources[0]->names() == std::vector<std::string>{"a.weight", "b.bias", "c.ids"});
    CHECK(sources[1]->names() == std::vector<std::string>{"d.view"});  // offset 1, stride (4, 1) into 12 floats
}

TEST_CASE("io.pytorch_bin: _rebuild_parameter, _rebuild_tensor, a state dict's _metadata, views sharing a storage, a transposed, a sparse and an empty tensor" * doctest::test_suite("unit")) {
    std::string doubles, ints;
    for (double v : {1.0, 2.0, 3.0, 4.0, 5.0, 6.0}) doubles.append(reinterpret_cast<const char*>(&v), sizeof v);
    for (std::int32_t v : {7, -8, 9}) ints.append(reinterpret_cast<const char*>(&v), sizeof v);
    const std::string w = test::pytorch_bin::rebuild("DoubleStorage", "0", 6, 0, {2, 2}, {2, 1});
    const std::string items =
        test::pytorch_bin::str("w") + test::pytorch_bin::global("torch._utils", "_rebuild_parameter") + w + "\x88" + test::pytorch_bin::ordered_dict() + "\x87R" +
        test::pytorch_bin::str("w.T") + test::pytorch_bin::rebuild("DoubleStorage", "0", 6, 0, {2, 2}, {1, 2}) +
        test::pytorch_bin::str("w.row1") + test::pytorch_bin::rebuild("DoubleStorage", "0", 6, 2, {2}, {1}) +
        test::pytorch_bin::str("w.sparse") + test::pytorch_bin::rebuild("DoubleStorage", "0", 6, 0, {2}, {5}) +
        test::pytorch_bin::str("i") + test::pytorch_bin::global("torch._utils", "_rebuild_tensor") + "((" + test::pytorch_bin::str("storage") +
        test::pytorch_bin::global("torch", "IntStorage") + test::pytorch_bin::str("1") + test::pytorch_bin::str("cpu") + test::pytorch_bin::integer(3) + "tQ" + test::pytorch_bin::integer(0) +
        test::pytorch_bin::integer(3) + "\x85" + test::pytorch_bin::integer(1) + "\x85tR" +
        test::pytorch_bin::str("e") + test::pytorch_bin::rebuild("BoolStorage", "2", 0, 0, {0, 3}, {3, 1});
    // OrderedDict() then its items, then BUILD with {'_metadata': {}}: torch.save(model.state_dict())
    const std::string pickle = "\x80\x02" + test::pytorch_bin::ordered_dict() + "(" + items + "u}" + test::pytorch_bin::str("_metadata") + "}sb.";
    const auto file = pytorch_bin_from(test::pytorch_bin::zip({{"model/data.pkl", pickle}, {"model/data/0", doubles}, {"model/data/1", ints},
                                                        {"model/data/2", ""}, {"model/byteorder", "little"}}));
    const auto sources = file.sources();
    CHECK(sources[0]->names() == std::vector<std::string>{"w", "w.row1", "i", "e"});  // in byte order
    CHECK(sources[1]->names() == std::vector<std::string>{"w.T", "w.sparse"});
    auto floats = [&](int s, const char* name) {
        const auto t = sources[std::size_t(s)]->load<float>(name);
        return std::vector<float>(t.begin(), t.end());
    };
    CHECK(floats(0, "w") == std::vector<float>{1, 2, 3, 4});
    CHECK(floats(1, "w.T") == std::vector<float>{1, 3, 2, 4});
    CHECK(floats(0, "w.row1") == std::vector<float>{3, 4});
    CHECK(floats(1, "w.sparse") == std::vector<float>{1, 6});  // read element by element
    const auto i = sources[0]->load<std::int64_t>("i");
    CHECK(std::vector<std::int64_t>(i.begin(), i.end()) == std::vector<std::int64_t>{7, -8, 9});
    CHECK(sources[0]->info("e").shape == std::vector<std::size_t>{0, 3});
    CHECK(sources[0]->info("e").dtype == dtype::boolean);
}

TEST_CASE("io.pytorch_bin: the restricted unpickler refuses what a state dict does not need, and says what and where" * doctest::test_suite("unit")) {
    const std::string tensor = test::pytorch_bin::str("t") + test::pytorch_bin::rebuild("FloatStorage", "0", 1, 0, {1}, {1});
    std::string nested = ")";
    for (int i = 0; i < 40; ++i) nested += "\x85";
    const struct {
        const char* what;
        std::string pickle;
        std::vector<std::pair<std::string, std::string>> more;
        std::string message;
    } cases[] = {
        {"a global outside the list", test::pytorch_bin::state_dict(test::pytorch_bin::str("x") + test::pytorch_bin::global("builtins", "eval")), {},
         "data.pkl byte 10: refused global 'builtins.eval'"},
        {"a global by STACK_GLOBAL", "\x80\x04\x8c\x02os\x8c\x06system\x93.", {}, "refused global 'os.system'"},
        {"calling a storage type", "\x80\x02" + test::pytorch_bin::global("torch", "FloatStorage") + ")R.", {},
         "global 'torch.FloatStorage' cannot be called"},
        {"an opcode outside the subset", "\x80\x02" + test::pytorch_bin::ordered_dict() + ")\x81.", {}, "pickle opcode 0x81 is not supported"},
        {"a memo entry never stored", "\x80\x02h\x05.", {}, "memo entry 5 was never stored"},
        {"nesting", "\x80\x02" + nested + ".", {}, "nested more than 32 deep"},
        {"a list holding itself", std::string("\x80\x02]q\x00h\x00" "a.", 9), {}, "holds a list, expected a dict of tensors"},
        {"a value that is not a tensor", test::pytorch_bin::state_dict(test::pytorch_bin::str("epoch") + test::pytorch_bin::integer(3)), {},
         "state dict entry 'epoch' is a int, expected a tensor"},
        {"a persistent id of another shape", test::pytorch_bin::state_dict(test::pytorch_bin::str("t") + test::pytorch_bin::str("storage") + "Q"), {},
         "persistent id is a str of 0 items"},
        {"BUILD on a tensor", test::pytorch_bin::state_dict(tensor + "}b"), {{"a/data/0", std::string(4, '\0')}}, "BUILD of a object, expected a dict"},
        {"a storage without its entry", test::pytorch_bin::state_dict(tensor), {}, "storage '0' has no entry a/data/0"},
        {"a storage shorter than its elements", test::pytorch_bin::state_dict(tensor), {{"a/data/0", "xy"}},
         "storage '0' of 1 F32 elements needs more than its 2 bytes"},
        {"big-endian storages", test::pytorch_bin::state_dict(tensor), {{"a/data/0", std::string(4, '\0')}, {"a/byteorder", "big"}},
         "byteorder is 'big', only 'little' is supported"},
        {"two archives", test::pytorch_bin::state_dict(""), {{"b/data.pkl", test::pytorch_bin::state_dict("")}}, "expected one <archive>/data.pkl entry"},
    };
    for (const auto& c : cases) {
        INFO(c.what);
        std::vector<std::pair<std::string, std::string>> entries = {{"a/data.pkl", c.pickle}};
        entries.insert(entries.end(), c.more.begin(), c.more.end());
        test::check_throws<format_error>([&] { pytorch_bin_from(test::pytorch_bin::zip(entries)); }, {"edited.bin", c.message});
    }
}

TEST_CASE("io.pytorch_bin: a pickle calling os.system is refused, naming the global, and nothing runs" * doctest::test_suite("unit")) {
    const std::filesystem::path witness = "/tmp/mmt-pwned";  // the file its command would write
    std::filesystem::remove(witness);
    const auto file = test::data_path("pytorch-bin/malicious_global.bin");
    test::check_throws<format_error>([&] { io::pytorch_checkpoint{file}; },
                                     {file.string(), "archive/data.pkl", "refused global 'posix.system'", "nothing was executed"});
    CHECK_FALSE(std::filesystem::exists(witness));
}

TEST_CASE("io.pytorch_bin: the legacy format, a truncated or damaged archive are format or io errors that say what" * doctest::test_suite("unit")) {
    const auto legacy = test::data_path("pytorch-bin/legacy_format.bin");
    test::check_throws<format_error>([&] { io::checkpoint::open(legacy); },
                                     {legacy.string(), "legacy torch.save format", "re-save it with torch>=1.6 or convert it to safetensors"});
    test::check_throws<format_error>([&] { pytorch_bin_from("not a checkpoint"); }, {"edited.bin", "not a PyTorch checkpoint"});

    const std::string good = pytorch_bin_mixed();
    SUBCASE("every truncation") {
        for (std::size_t n = 0; n < good.size(); ++n) {
            INFO(n);
            CHECK_THROWS_AS(pytorch_bin_from(good.substr(0, n)), mmt::error);
        }
    }
    SUBCASE("every byte flipped: an mmt::error or a checkpoint, nothing else") {
        for (std::size_t i = 0; i < good.size(); ++i) {
            std::string bad = good;
            bad[i] = static_cast<char>(bad[i] ^ 0x5a);
            try {
                pytorch_bin_from(bad);
            } catch (const mmt::error&) {
            } catch (const std::exception& e) {
                FAIL_CHECK("byte " << i << ": " << e.what());
            }
        }
    }
    SUBCASE("a compressed entry") {
        std::string bad = good;
        const std::size_t dir = good.find("PK\x01\x02");  // the first central header: data.pkl
        REQUIRE(dir != std::string::npos);
        bad[dir + 10] = 8;
        test::check_throws<format_error>([&] { pytorch_bin_from(bad); },
                                         {"entry 'mixed_dtypes/data.pkl' is compressed (method 8, deflate)"});
    }
    SUBCASE("a view reaching past its storage") {
        std::string bad = good;
        // d.view: its storage's persistent id (BINPUT 35, BINPERSID), then offset 1, size (3, 2)
        const std::string offset_of_view = std::string("q\x23QK\x01K\x03K\x02", 9);
        const std::size_t at = good.find(offset_of_view);
        REQUIRE(at != std::string::npos);
        bad[at + 4] = 7;
        test::check_throws<format_error>([&] { pytorch_bin_from(bad); },
                                         {"tensor 'd.view'", "offset 7, size [3, 2] and stride [4, 1] reach element 16", "holds 12"});
    }
    SUBCASE("the same archive behind a zip64 end record") {
        const auto sources = pytorch_bin_from(pytorch_bin_as_zip64(good)).sources();
        CHECK(sources[0]->size() + sources[1]->size() == 4);
    }
}

TEST_CASE("io.pytorch_bin: a directory takes model.safetensors over pytorch_model.bin, and the .bin alone" * doctest::test_suite("unit")) {
    const auto dir = test::scratch_dir("pytorch_bin_prefer");
    std::filesystem::copy_file(test::data_path("pytorch-bin/malicious_global.bin"), dir / "pytorch_model.bin");
    test::check_throws<format_error>([&] { io::checkpoint::open(dir); }, {"refused global 'posix.system'"});
    std::filesystem::copy_file(test::data_path("clip-tiny/model.safetensors"), dir / "model.safetensors");
    CHECK(io::checkpoint::open(dir).description() == (dir / "model.safetensors").string());  // the .bin is never read
}
