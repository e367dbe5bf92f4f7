// io::weight_loader / weight_scope: names built from scopes, shapes checked at every
// lookup, suffix aliases, and the check that every tensor was used.
#include <doctest/doctest.h>

#include <array>
#include <filesystem>
#include <string>

#include "mmt/io/weight_scope.hpp"
#include "support/data.hpp"
#include "support/random.hpp"
#include "support/throws.hpp"

using namespace mmt;
namespace fs = std::filesystem;

namespace {

const io::name_table table{{{"LayerNorm.weight", "LayerNorm.gamma"}, {"LayerNorm.bias", "LayerNorm.beta"}}, {"position_ids"}};

// a.b.0.c [2, 3], enc.LayerNorm.gamma / beta [4], emb.position_ids [1, 5] (I64), extra.w [2].
fs::path write_checkpoint(const std::string& name) {
    const fs::path path = test::scratch_dir(name) / "model.safetensors";
    io::safetensors_writer w;
    w.add("a.b.0.c", test::random_tensor<2>({2, 3}, 1));
    w.add("enc.LayerNorm.gamma", test::random_tensor<1>({4}, 2));
    w.add("enc.LayerNorm.beta", test::random_tensor<1>({4}, 3));
    w.add("emb.position_ids", int_tensor<2>({1, 5}));
    w.add("extra.w", test::random_tensor<1>({2}, 4));
    w.save(path);
    return path;
}

}  // namespace

TEST_CASE("io.weight_scope: child scopes build dotted names" * doctest::test_suite("unit")) {
    const fs::path path = write_checkpoint("unit_weight_scope_names");
    io::weight_loader loader(io::checkpoint::open(path), table);
    const io::weight_scope c = loader.root().child("a").child("b").child(0);
    CHECK(c.prefix() == "a.b.0.");
    CHECK(loader.root().prefix() == "");
    CHECK(c.has("c"));
    CHECK_FALSE(c.has("d"));
    CHECK_FALSE(loader.root().child("a").child(1).has("c"));
    CHECK(c.get<2>("c", {2, 3}) == test::random_tensor<2>({2, 3}, 1));
    CHECK(loader.root().get<2>("a.b.0.c", {2, 3}) == test::random_tensor<2>({2, 3}, 1));  // the same tensor twice is fine
}

TEST_CASE("io.weight_scope: a missing tensor names itself and the expected shape" * doctest::test_suite("unit")) {
    const fs::path path = write_checkpoint("unit_weight_scope_missing");
    io::weight_loader loader(io::checkpoint::open(path), table);
    const io::weight_scope c = loader.root().child("a").child("b").child(0);
    test::check_throws<weight_error>([&] { c.get<1>("bias", {7}); }, {path.string(), "missing tensor 'a.b.0.bias'", "[7]"});
    test::check_throws<weight_error>([&] { loader.root().child("enc").get<1>("LayerNorm.scale", {4}); },
                                     {"'enc.LayerNorm.scale'", "[4]"});
}

TEST_CASE("io.weight_scope: a wrong shape names the tensor and both shapes" * doctest::test_suite("unit")) {
    const fs::path path = write_checkpoint("unit_weight_scope_shape");
    io::weight_loader loader(io::checkpoint::open(path), table);
    const io::weight_scope c = loader.root().child("a").child("b").child(0);
    test::check_throws<weight_error>([&] { c.get<2>("c", {3, 2}); }, {path.string(), "'a.b.0.c'", "[2, 3]", "expected [3, 2]"});
    test::check_throws<weight_error>([&] { c.get<3>("c", {2, 3, 1}); }, {"'a.b.0.c'", "[2, 3]", "expected [2, 3, 1]"});
    test::check_throws<weight_error>([&] { loader.root().child("emb").get<2>("position_ids", {1, 5}); },
                                     {"'emb.position_ids'", "I64", "float32"});
}

TEST_CASE("io.weight_scope: suffix aliases resolve to the stored name" * doctest::test_suite("unit")) {
    const fs::path path = write_checkpoint("unit_weight_scope_alias");
    io::weight_loader loader(io::checkpoint::open(path), table);
    const io::weight_scope enc = loader.root().child("enc");
    CHECK(enc.has("LayerNorm.weight"));
    CHECK(loader.resolve("enc.LayerNorm.weight") == "enc.LayerNorm.gamma");
    CHECK(loader.resolve("enc.LayerNorm.gamma") == "enc.LayerNorm.gamma");
    CHECK(loader.resolve("enc.Norm.weight") == "");
    CHECK(enc.get<1>("LayerNorm.weight", {4}) == test::random_tensor<1>({4}, 2));
    CHECK(enc.get<1>("LayerNorm.bias", {4}) == test::random_tensor<1>({4}, 3));
    // The shape error names the name found in the file.
    test::check_throws<weight_error>([&] { enc.get<1>("LayerNorm.weight", {5}); }, {"'enc.LayerNorm.gamma'", "[4]", "[5]"});
}

TEST_CASE("io.weight_scope: check_all_used names unused tensors but not ignored buffers" * doctest::test_suite("unit")) {
    const fs::path path = write_checkpoint("unit_weight_scope_unused");
    io::weight_loader loader(io::checkpoint::open(path), table);
    loader.root().child("a").child("b").child(0).get<2>("c", {2, 3});
    loader.root().child("enc").get<1>("LayerNorm.weight", {4});
    try {
        loader.check_all_used();
        FAIL_CHECK("check_all_used did not throw");
    } catch (const weight_error& e) {
        const std::string message = e.what();
        CHECK(message.find(path.string()) != std::string::npos);
        CHECK(message.find("'enc.LayerNorm.beta'") != std::string::npos);
        CHECK(message.find("'extra.w'") != std::string::npos);
        CHECK(message.find("position_ids") == std::string::npos);  // ignored buffer
        CHECK(message.find("a.b.0.c") == std::string::npos);       // used
        CHECK(message.find("gamma") == std::string::npos);         // used through its alias
    }
    loader.root().child("enc").get<1>("LayerNorm.bias", {4});
    loader.root().get<1>("extra.w", {2});
    CHECK_NOTHROW(loader.check_all_used());
}

TEST_CASE("io.weight_scope: a long list of unused tensors is cut short with the count" * doctest::test_suite("unit")) {
    const fs::path path = test::scratch_dir("unit_weight_scope_many") / "model.safetensors";
    io::safetensors_writer w;
    for (int i = 0; i < 8; ++i) w.add("t" + std::to_string(i), test::random_tensor<1>({1}, std::uint32_t(i)));
    w.save(path);
    io::weight_loader loader(io::checkpoint::open(path), {});
    test::check_throws<weight_error>([&] { loader.check_all_used(); }, {"'t0'", "'t4'", "(8 in all)", "config.json"});
}
