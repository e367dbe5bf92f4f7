// CLIPImageProcessor against HF's pixel_values (clip-images fixture: PIL 9.4
// bicubic resize, centre crop, rescale, normalise), plus the pieces on their own.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "mmt/io/image.hpp"
#include "mmt/io/safetensors.hpp"
#include "mmt/preprocess/image.hpp"
#include "support/check_close.hpp"
#include "support/data.hpp"
#include "support/tolerances.hpp"

namespace {

using mmt::preprocess::clip_image_processor;
using mmt::preprocess::clip_image_processor_config;
using mmt::preprocess::pil_resampling;

mmt::io::safetensors_file reference() {
    return mmt::io::safetensors_file(mmt::test::data_path("clip-images/reference.safetensors"));
}

mmt::io::rgb_image uniform_image(std::size_t height, std::size_t width, std::uint8_t r, std::uint8_t g, std::uint8_t b) {
    mmt::io::rgb_image img{height, width, {}};
    for (std::size_t i = 0; i < height * width; ++i) img.pixels.insert(img.pixels.end(), {r, g, b});
    return img;
}

clip_image_processor_config config_from(const std::string& text) {
    return clip_image_processor_config::from_json(mmt::io::json::parse(text), "test_config.json");
}

// The processor of fixture folder `folder` (32x32, no crop: every photograph, landscape,
// square or the 640x427 JPEG, squashed) gives its pixel_values of each photograph.
void check_squashed_photographs(const std::string& folder) {
    auto processor = clip_image_processor::from_pretrained(mmt::test::data_path(folder));
    CHECK_FALSE(processor.config().do_center_crop);
    auto ref = mmt::io::safetensors_file(mmt::test::data_path(folder + "/reference.safetensors"));
    for (const std::string name : {"astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg"}) {
        const std::string stem = name.substr(0, name.find('.'));
        auto image = mmt::io::read_image(mmt::test::data_path("clip-images/" + name));
        mmt::test::check_close(processor.preprocess(image), ref.load<float, 3>("pixel_values." + stem),
                               mmt::test::tol::pixels_abs, folder + " pixel_values." + stem);
    }
}

}  // namespace

TEST_CASE("preprocess.clip_image: preprocessor_config.json of ViT-B/32" * doctest::test_suite("unit")) {
    auto c = clip_image_processor_config::from_pretrained(mmt::test::data_path("clip-images"));
    CHECK(c.do_resize);
    CHECK(c.size.shortest_edge == 224);
    CHECK(c.resample == pil_resampling::bicubic);
    CHECK(c.do_center_crop);
    CHECK(c.crop_size.height == 224);
    CHECK(c.crop_size.width == 224);
    CHECK(c.rescale_factor == 1.0 / 255.0);
    CHECK(c.image_mean[1] == 0.4578275);
    CHECK(c.image_std[2] == 0.27577711);

    auto defaults = config_from("{}");  // HF's defaults are the same numbers
    CHECK(defaults.size.shortest_edge == c.size.shortest_edge);
    CHECK(defaults.image_mean == c.image_mean);
    CHECK(defaults.image_std == c.image_std);
    CHECK(defaults.rescale_factor == c.rescale_factor);

    auto legacy = config_from(R"({"size": 256, "crop_size": 192, "resample": 2, "image_mean": 0.5})");
    CHECK(legacy.size.shortest_edge == 256);
    CHECK(legacy.crop_size.height == 192);
    CHECK(legacy.crop_size.width == 192);
    CHECK(legacy.resample == pil_resampling::bilinear);
    CHECK(legacy.image_mean == std::array<double, 3>{0.5, 0.5, 0.5});
    auto exact = config_from(R"({"size": {"height": 240, "width": 320}})");
    CHECK(exact.size.shortest_edge == 0);
    CHECK(exact.size.height == 240);
    CHECK(exact.size.width == 320);
}

TEST_CASE("preprocess.clip_image: pixel_values of the PNG fixtures" * doctest::test_suite("parity")) {
    auto processor = clip_image_processor::from_pretrained(mmt::test::data_path("clip-images"));
    auto ref = reference();
    for (const std::string name : {"astronaut", "chelsea", "coffee"}) {
        auto image = mmt::io::read_image(mmt::test::data_path("clip-images/" + name + ".png"));
        mmt::tensor<3> pixel_values = processor.preprocess(image);  // [3, 224, 224]
        auto expected = ref.load<float, 3>("pixel_values." + name);
        auto c = mmt::test::check_close(pixel_values, expected, mmt::test::tol::pixels_abs, "pixel_values." + name);
        CHECK(c.max_abs == 0.0);  // PIL's integer resampling reproduced exactly
    }
}

TEST_CASE("preprocess.clip_image: pixel_values of rocket.jpg" * doctest::test_suite("parity")) {
    auto processor = clip_image_processor::from_pretrained(mmt::test::data_path("clip-images"));
    auto ref = reference();
    auto expected = ref.load<float, 3>("pixel_values.rocket");

    // Pillow's decode fed through our resize isolates the resampling.
    auto rgb = ref.load<std::uint8_t, 3>("rgb.rocket");  // [427, 640, 3]
    mmt::io::rgb_image pillow_decoded{rgb.shape(0), rgb.shape(1), std::vector<std::uint8_t>(rgb.begin(), rgb.end())};
    mmt::test::check_close(processor.preprocess(pillow_decoded), expected, mmt::test::tol::pixels_abs,
                           "pixel_values.rocket from rgb.rocket");

    // Our own libjpeg-turbo decode end to end (equal to rgb.rocket, see tests/io/test_image.cpp).
    auto decoded = mmt::io::read_image(mmt::test::data_path("clip-images/rocket.jpg"));
    mmt::test::check_close(processor.preprocess(decoded), expected, mmt::test::tol::pixels_abs,
                           "pixel_values.rocket from our decode of rocket.jpg");
}

TEST_CASE("preprocess.clip_image: a batch stacks the single results" * doctest::test_suite("unit")) {
    auto processor = clip_image_processor::from_pretrained(mmt::test::data_path("clip-images"));
    std::vector<mmt::io::rgb_image> images;
    for (const std::string name : {"chelsea.png", "rocket.jpg", "astronaut.png"})
        images.push_back(mmt::io::read_image(mmt::test::data_path("clip-images/" + name)));
    mmt::tensor<4> batch = processor.preprocess(images);  // [3, 3, 224, 224]
    REQUIRE(batch.shape(0) == 3);
    REQUIRE(batch.shape(1) == 3);
    REQUIRE(batch.shape(2) == 224);
    REQUIRE(batch.shape(3) == 224);
    for (std::size_t b = 0; b < images.size(); ++b) {
        mmt::tensor<3> one = processor.preprocess(images[b]);
        mmt::tensor<3> row = xt::view(batch, b);
        CHECK(row == one);
    }

    auto c = processor.config();
    c.do_center_crop = false;
    clip_image_processor uncropped(c);
    CHECK_THROWS_WITH_AS(uncropped.preprocess(images), doctest::Contains("image 1 becomes 224x335 but image 0 became 224x336"),
                         mmt::input_error);
    CHECK_THROWS_WITH_AS(processor.preprocess(std::vector<mmt::io::rgb_image>{}), doctest::Contains("empty batch"),
                         mmt::input_error);
}

TEST_CASE("preprocess.clip_image: get_resize_output_image_size as transformers" * doctest::test_suite("unit")) {
    using mmt::preprocess::get_resize_output_image_size;
    using hw = std::pair<std::size_t, std::size_t>;
    CHECK(get_resize_output_image_size(300, 451, 224) == hw{224, 336});  // int(224 * 451 / 300) = int(336.75)
    CHECK(get_resize_output_image_size(427, 640, 224) == hw{224, 335});
    CHECK(get_resize_output_image_size(640, 427, 224) == hw{335, 224});
    CHECK(get_resize_output_image_size(512, 512, 224) == hw{224, 224});
    CHECK(get_resize_output_image_size(100, 7, 224) == hw{3200, 224});
    CHECK(get_resize_output_image_size(224, 300, 224) == hw{224, 300});
}

TEST_CASE("preprocess.clip_image: PIL resize on hand-worked cases" * doctest::test_suite("unit")) {
    using mmt::preprocess::resize;
    // Bilinear 4 -> 2: support 2 (scaled by the factor 2), taps at distances
    // 0.25, 0.75, 1.25 -> weights 3/7, 3/7, 1/7 (mirrored for the second output).
    mmt::io::rgb_image row{1, 4, {0, 0, 0, 70, 70, 70, 140, 140, 140, 210, 210, 210}};
    auto narrow = resize(row, 1, 2, pil_resampling::bilinear);
    CHECK(narrow.pixels == std::vector<std::uint8_t>{50, 50, 50, 160, 160, 160});
    mmt::io::rgb_image column{4, 1, row.pixels};
    auto short_column = resize(column, 2, 1, pil_resampling::bilinear);
    CHECK(short_column.pixels == narrow.pixels);

    // Same size: a copy, as PIL; constant images stay constant in every filter.
    auto photo = mmt::io::read_image(mmt::test::data_path("clip-images/chelsea.png"));
    CHECK(resize(photo, photo.height, photo.width, pil_resampling::bicubic).pixels == photo.pixels);
    auto flat = uniform_image(37, 53, 12, 200, 255);
    for (auto f : {pil_resampling::lanczos, pil_resampling::bilinear, pil_resampling::bicubic, pil_resampling::box,
                   pil_resampling::hamming}) {
        CHECK(resize(flat, 11, 90, f).pixels == uniform_image(11, 90, 12, 200, 255).pixels);
        CHECK(resize(flat, 80, 20, f).pixels == uniform_image(80, 20, 12, 200, 255).pixels);
    }
    // Bicubic overshoot at a hard edge is clipped to 0..255 after each pass.
    mmt::io::rgb_image edge{1, 4, {0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 255, 255}};
    auto up = resize(edge, 1, 16, pil_resampling::bicubic);
    CHECK(up.pixels.front() == 0);
    CHECK(up.pixels.back() == 255);
}

TEST_CASE("preprocess.clip_image: centre crop offsets and zero padding as HF" * doctest::test_suite("unit")) {
    using mmt::preprocess::center_crop;
    mmt::io::rgb_image img{3, 5, {}};
    for (std::uint8_t i = 1; i <= 15; ++i) img.pixels.insert(img.pixels.end(), {i, i, i});
    // floor((5 - 2) / 2) = 1 column off, floor((3 - 2) / 2) = 0 rows off.
    auto small = center_crop(img, 2, 2);
    CHECK(small.pixels == std::vector<std::uint8_t>{2, 2, 2, 3, 3, 3, 7, 7, 7, 8, 8, 8});
    // Larger than the image: HF pads ceil(diff / 2) before, the rest after.
    auto padded = center_crop(img, 4, 6);
    std::vector<std::uint8_t> expected(4 * 6 * 3, 0);
    for (std::size_t y = 0; y < 3; ++y)
        for (std::size_t x = 0; x < 5; ++x)
            for (std::size_t c = 0; c < 3; ++c) expected[((y + 1) * 6 + (x + 1)) * 3 + c] = std::uint8_t(y * 5 + x + 1);
    CHECK(padded.pixels == expected);

    // Through the processor: the padding is black before rescale and normalise.
    auto c = clip_image_processor_config{};
    c.size.shortest_edge = 8;
    auto out = clip_image_processor(c).preprocess(uniform_image(8, 8, 255, 255, 255));  // [3, 224, 224]
    const float black = (0.0f - float(c.image_mean[0])) / float(c.image_std[0]);
    const float white = (float(255 * c.rescale_factor) - float(c.image_mean[0])) / float(c.image_std[0]);
    CHECK(out(0, 0, 0) == black);
    CHECK(out(0, 112, 112) == white);
}

TEST_CASE("preprocess.clip_image: impossible settings are config errors naming the key" * doctest::test_suite("unit")) {
    using doctest::Contains;
    CHECK_THROWS_WITH_AS(config_from(R"({"resample": 0})"),
                         Contains("test_config.json: key \"resample\": expected 1 (lanczos), 2 (bilinear), 3 (bicubic), "
                                  "4 (box) or 5 (hamming), got 0 (nearest, not supported)"),
                         mmt::config_error);
    CHECK_THROWS_WITH_AS(config_from(R"({"resample": 9})"), Contains("key \"resample\""), mmt::config_error);
    CHECK_THROWS_WITH_AS(config_from(R"({"image_std": [0.2, 0, 0.3]})"),
                         Contains("key \"image_std\": expected finite non-zero values, got 0 for channel 1"),
                         mmt::config_error);
    CHECK_THROWS_WITH_AS(config_from(R"({"image_mean": [0.5, 0.5]})"), Contains("key \"image_mean\""),
                         mmt::config_error);
    CHECK_THROWS_WITH_AS(config_from(R"({"size": {"shortest_edge": -5}})"), Contains("key \"size\""),
                         mmt::config_error);
    CHECK_THROWS_WITH_AS(config_from(R"({"size": {"longest_edge": 300}})"), Contains("key \"size\""),
                         mmt::config_error);
    CHECK_THROWS_WITH_AS(config_from(R"({"crop_size": {"height": 0, "width": 224}})"),
                         Contains("key \"crop_size\": expected positive height and width, got height=0"),
                         mmt::config_error);
    CHECK_THROWS_WITH_AS(config_from(R"({"crop_size": {"shortest_edge": 224}})"), Contains("key \"crop_size\""),
                         mmt::config_error);
    CHECK_THROWS_WITH_AS(config_from(R"({"do_resize": "yes"})"), Contains("key \"do_resize\" has the wrong type"),
                         mmt::config_error);
    CHECK_THROWS_WITH_AS(clip_image_processor().preprocess(mmt::io::rgb_image{}), Contains("expected a non-empty RGB image"),
                         mmt::input_error);
}

TEST_CASE("preprocess.clip_image: SiglipImageProcessor's defaults and pixel_values" * doctest::test_suite("parity")) {
    const auto defaults = config_from(R"({"image_processor_type": "SiglipImageProcessor"})");
    CHECK(defaults.size.shortest_edge == 0);
    CHECK(defaults.size.height == 224);
    CHECK(defaults.size.width == 224);
    CHECK_FALSE(defaults.do_center_crop);
    CHECK(defaults.resample == pil_resampling::bicubic);
    CHECK(defaults.image_mean == std::array<double, 3>{0.5, 0.5, 0.5});
    CHECK(defaults.image_std == std::array<double, 3>{0.5, 0.5, 0.5});
    // SiglipImageProcessor has no crop: the keys are not its.
    CHECK_FALSE(config_from(R"({"image_processor_type": "SiglipImageProcessor", "do_center_crop": true})").do_center_crop);
    CHECK_THROWS_WITH_AS(config_from(R"({"image_processor_type": "ViTImageProcessor"})"),
                         doctest::Contains("\"image_processor_type\": expected CLIPImageProcessor"), mmt::config_error);

    check_squashed_photographs("siglip-images");
}

TEST_CASE("preprocess.clip_image: LayoutLMv3ImageProcessor's defaults and pixel_values" * doctest::test_suite("parity")) {
    const auto defaults = config_from(R"({"image_processor_type": "LayoutLMv3ImageProcessor", "apply_ocr": true})");
    CHECK(defaults.size.height == 224);
    CHECK(defaults.size.width == 224);
    CHECK_FALSE(defaults.do_center_crop);
    CHECK(defaults.resample == pil_resampling::bilinear);
    CHECK(defaults.image_mean == std::array<double, 3>{0.5, 0.5, 0.5});
    check_squashed_photographs("layoutlmv3-images");
}
