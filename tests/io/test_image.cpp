// PNG / JPEG decoding against the RGB arrays Pillow 9.4 decoded (rgb.<name> in
// clip-images/reference.safetensors), synthetic images written here with libpng
// and libjpeg for the conversions Image.convert("RGB") does, and the error paths.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <jpeglib.h>
#include <png.h>

#include "mmt/io/image.hpp"
#include "mmt/io/safetensors.hpp"
#include "support/data.hpp"

namespace {

using bytes = std::vector<std::uint8_t>;

bytes read_bytes(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

mmt::io::rgb_image reference_rgb(const std::string& name) {
    mmt::io::safetensors_file f(mmt::test::data_path("clip-images/reference.safetensors"));
    auto t = f.load<std::uint8_t, 3>("rgb." + name);  // [height, width, 3]
    return {t.shape(0), t.shape(1), bytes(t.data(), t.data() + t.size())};
}

struct pixel_difference {
    int max_abs = 0;
    std::size_t differing_values = 0;
    std::size_t differing_pixels = 0;
};

pixel_difference compare(const mmt::io::rgb_image& a, const mmt::io::rgb_image& b) {
    pixel_difference d;
    for (std::size_t p = 0; p < a.height * a.width; ++p) {
        bool pixel_differs = false;
        for (std::size_t c = 0; c < 3; ++c) {
            int diff = std::abs(int(a.pixels[p * 3 + c]) - int(b.pixels[p * 3 + c]));
            if (diff) ++d.differing_values, pixel_differs = true;
            d.max_abs = std::max(d.max_abs, diff);
        }
        d.differing_pixels += pixel_differs;
    }
    return d;
}

// A PNG in memory, written by libpng. `samples` holds one value per channel per
// pixel (16-bit values for bit_depth 16, indices for palettes).
struct png_spec {
    png_spec(int w, int h, int type, int depth, std::vector<unsigned> values)
        : width(w), height(h), color_type(type), bit_depth(depth), samples(std::move(values)) {}
    int width, height, color_type, bit_depth;
    std::vector<unsigned> samples;
    std::vector<png_color> palette;
    std::vector<png_byte> trns;  // palette alpha
    bool interlaced = false;
};

void append_bytes(png_structp png, png_bytep data, png_size_t n) {
    auto* out = static_cast<bytes*>(png_get_io_ptr(png));
    out->insert(out->end(), data, data + n);
}

bytes write_png(const png_spec& spec) {
    bytes out;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
    png_infop info = png_create_info_struct(png);
    // No setjmp: a libpng error while writing these valid images would abort the test run.
    png_set_write_fn(png, &out, append_bytes, nullptr);
    png_set_IHDR(png, info, spec.width, spec.height, spec.bit_depth, spec.color_type,
                 spec.interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (!spec.palette.empty()) png_set_PLTE(png, info, spec.palette.data(), int(spec.palette.size()));
    if (!spec.trns.empty()) png_set_tRNS(png, info, spec.trns.data(), int(spec.trns.size()), nullptr);
    png_set_check_for_invalid_index(png, 0);  // the palette test uses an index past PLTE on purpose
    png_write_info(png, info);
    const int channels = png_get_channels(png, info);
    const int per_row = spec.width * channels;
    // Pack each row the way PNG stores it: big-endian 16-bit, or sub-byte samples MSB first.
    std::vector<bytes> rows(spec.height, bytes(png_get_rowbytes(png, info), 0));
    for (int y = 0; y < spec.height; ++y) {
        for (int i = 0; i < per_row; ++i) {
            unsigned v = spec.samples[y * per_row + i];
            if (spec.bit_depth == 16) {
                rows[y][i * 2] = std::uint8_t(v >> 8), rows[y][i * 2 + 1] = std::uint8_t(v);
            } else if (spec.bit_depth == 8) {
                rows[y][i] = std::uint8_t(v);
            } else {
                int bit = i * spec.bit_depth, shift = 8 - spec.bit_depth - bit % 8;
                rows[y][bit / 8] |= std::uint8_t(v << shift);
            }
        }
    }
    std::vector<png_bytep> pointers;
    for (auto& r : rows) pointers.push_back(r.data());
    png_write_image(png, pointers.data());
    png_write_end(png, nullptr);
    png_destroy_write_struct(&png, &info);
    return out;
}

// A JPEG in memory, written by libjpeg at quality 100 without chroma subsampling.
bytes write_jpeg(int width, int height, int components, J_COLOR_SPACE space, const bytes& samples) {
    jpeg_compress_struct cinfo;
    jpeg_error_mgr errors;
    cinfo.err = jpeg_std_error(&errors);
    jpeg_create_compress(&cinfo);
    unsigned char* buffer = nullptr;
    unsigned long size = 0;
    jpeg_mem_dest(&cinfo, &buffer, &size);
    cinfo.image_width = width;
    cinfo.image_height = height;
    cinfo.input_components = components;
    cinfo.in_color_space = space;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, 100, TRUE);
    for (int c = 0; c < cinfo.num_components; ++c) cinfo.comp_info[c].h_samp_factor = cinfo.comp_info[c].v_samp_factor = 1;
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = const_cast<JSAMPROW>(samples.data() + cinfo.next_scanline * width * components);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    bytes out(buffer, buffer + size);
    std::free(buffer);
    return out;
}

bytes rgb_of(const mmt::io::rgb_image& image) { return image.pixels; }

bytes gray_to_rgb(const std::vector<unsigned>& gray) {
    bytes out;
    for (unsigned v : gray) out.insert(out.end(), {std::uint8_t(v), std::uint8_t(v), std::uint8_t(v)});
    return out;
}

std::uint32_t crc32(const std::uint8_t* data, std::size_t n) {
    std::uint32_t crc = 0xffffffffu;
    for (std::size_t i = 0; i < n; ++i) {
        crc ^= data[i];
        for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

void put_u32(bytes& out, std::uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) out.push_back(std::uint8_t(v >> s));
}

}  // namespace

TEST_CASE("io.image: PNG fixtures decode to Pillow's RGB exactly" * doctest::test_suite("parity")) {
    for (const std::string name : {"astronaut", "chelsea", "coffee"}) {
        auto decoded = mmt::io::read_image(mmt::test::data_path("clip-images/" + name + ".png"));
        auto expected = reference_rgb(name);
        INFO(name);
        REQUIRE(decoded.height == expected.height);
        REQUIRE(decoded.width == expected.width);
        auto d = compare(decoded, expected);
        MESSAGE(name << ".png vs rgb." << name << ": max abs " << d.max_abs << ", " << d.differing_pixels
                     << " pixels differ");
        CHECK(d.differing_values == 0);
    }
}

TEST_CASE("io.image: rocket.jpg against Pillow's libjpeg decode" * doctest::test_suite("parity")) {
    auto decoded = mmt::io::read_image(mmt::test::data_path("clip-images/rocket.jpg"));
    auto expected = reference_rgb("rocket");
    REQUIRE(decoded.height == expected.height);
    REQUIRE(decoded.width == expected.width);
    auto d = compare(decoded, expected);
    MESSAGE("rocket.jpg vs rgb.rocket: max abs " << d.max_abs << ", " << d.differing_pixels << " of "
                                                 << decoded.height * decoded.width << " pixels differ ("
                                                 << d.differing_values << " channel values)");
    // Same libjpeg-turbo settings as Pillow (ISLOW IDCT, fancy upsampling): bit-exact.
    CHECK(d.differing_values == 0);
}

TEST_CASE("io.image: format comes from the bytes, not the extension" * doctest::test_suite("unit")) {
    auto png = read_bytes(mmt::test::data_path("clip-images/chelsea.png"));
    auto path = mmt::test::scratch_dir("io_image") / "actually_a_png.jpg";
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(png.data()), std::streamsize(png.size()));
    CHECK(mmt::io::detect_image_format(png.data(), png.size()) == mmt::io::image_format::png);
    auto from_file = mmt::io::read_image(path);
    auto from_memory = mmt::io::decode_image(png, "chelsea in memory");
    CHECK(from_file.pixels == from_memory.pixels);
    CHECK(from_file.height == 300);
    CHECK(from_file.width == 451);
}

TEST_CASE("io.image: PNG colour types convert as Image.convert(\"RGB\")" * doctest::test_suite("unit")) {
    SUBCASE("8-bit gray is replicated") {
        std::vector<unsigned> gray{0, 17, 128, 255, 3, 254};
        auto img = mmt::io::decode_image(write_png({3, 2, PNG_COLOR_TYPE_GRAY, 8, gray}), "gray8");
        CHECK(img.height == 2);
        CHECK(img.width == 3);
        CHECK(rgb_of(img) == gray_to_rgb(gray));
    }
    SUBCASE("1, 2 and 4-bit gray scale up by bit replication") {
        std::vector<unsigned> v1{0, 1, 1, 0}, v2{0, 1, 2, 3}, v4{0, 5, 10, 15};
        CHECK(rgb_of(mmt::io::decode_image(write_png({4, 1, PNG_COLOR_TYPE_GRAY, 1, v1}), "g1")) ==
              gray_to_rgb({0, 255, 255, 0}));
        CHECK(rgb_of(mmt::io::decode_image(write_png({4, 1, PNG_COLOR_TYPE_GRAY, 2, v2}), "g2")) ==
              gray_to_rgb({0, 85, 170, 255}));
        CHECK(rgb_of(mmt::io::decode_image(write_png({4, 1, PNG_COLOR_TYPE_GRAY, 4, v4}), "g4")) ==
              gray_to_rgb({0, 85, 170, 255}));
    }
    SUBCASE("gray + alpha drops the alpha, no compositing") {
        auto img = mmt::io::decode_image(write_png({2, 1, PNG_COLOR_TYPE_GRAY_ALPHA, 8, {40, 0, 200, 128}}), "la");
        CHECK(rgb_of(img) == gray_to_rgb({40, 200}));
    }
    SUBCASE("RGBA drops the alpha, no compositing") {
        auto img = mmt::io::decode_image(
            write_png({2, 1, PNG_COLOR_TYPE_RGBA, 8, {10, 20, 30, 0, 250, 128, 1, 77}}), "rgba");
        CHECK(rgb_of(img) == bytes{10, 20, 30, 250, 128, 1});
    }
    SUBCASE("palette with tRNS is a plain lookup; an index past PLTE reads Pillow 9's ramp") {
        png_spec spec{4, 1, PNG_COLOR_TYPE_PALETTE, 8, {0, 1, 2, 5}};
        spec.palette = {{255, 0, 0}, {0, 128, 255}, {7, 8, 9}};
        spec.trns = {0, 128};
        auto img = mmt::io::decode_image(write_png(spec), "palette");
        CHECK(rgb_of(img) == bytes{255, 0, 0, 0, 128, 255, 7, 8, 9, 5, 5, 5});
    }
    SUBCASE("4-bit palette") {
        png_spec spec{3, 1, PNG_COLOR_TYPE_PALETTE, 4, {1, 0, 1}};
        spec.palette = {{1, 2, 3}, {200, 100, 50}};
        CHECK(rgb_of(mmt::io::decode_image(write_png(spec), "p4")) == bytes{200, 100, 50, 1, 2, 3, 200, 100, 50});
    }
    SUBCASE("16-bit gray is mode I, which convert(\"RGB\") clips at 255") {
        std::vector<unsigned> gray{0, 200, 254, 255, 256, 1000, 0x1234, 65535};
        auto img = mmt::io::decode_image(write_png({8, 1, PNG_COLOR_TYPE_GRAY, 16, gray}), "gray16");
        CHECK(rgb_of(img) == gray_to_rgb({0, 200, 254, 255, 255, 255, 255, 255}));
    }
    SUBCASE("16-bit RGB, RGBA and gray + alpha keep the high byte") {
        auto rgb = mmt::io::decode_image(
            write_png({2, 1, PNG_COLOR_TYPE_RGB, 16, {0x1234, 0xffff, 0x00ff, 0x8000, 0x7fff, 0x0100}}), "rgb16");
        CHECK(rgb_of(rgb) == bytes{0x12, 0xff, 0x00, 0x80, 0x7f, 0x01});
        auto rgba = mmt::io::decode_image(
            write_png({1, 1, PNG_COLOR_TYPE_RGBA, 16, {0xabcd, 0x0102, 0xfe00, 0x0000}}), "rgba16");
        CHECK(rgb_of(rgba) == bytes{0xab, 0x01, 0xfe});
        auto la = mmt::io::decode_image(write_png({2, 1, PNG_COLOR_TYPE_GRAY_ALPHA, 16, {0x9876, 0, 0x00ff, 0xffff}}),
                                        "la16");
        CHECK(rgb_of(la) == gray_to_rgb({0x98, 0x00}));
    }
    SUBCASE("interlaced (Adam7) RGB") {
        std::vector<unsigned> samples;
        for (unsigned i = 0; i < 9 * 7 * 3; ++i) samples.push_back((i * 37) % 256);
        png_spec spec{9, 7, PNG_COLOR_TYPE_RGB, 8, samples};
        spec.interlaced = true;
        auto img = mmt::io::decode_image(write_png(spec), "adam7");
        CHECK(rgb_of(img) == bytes(samples.begin(), samples.end()));
    }
}

TEST_CASE("io.image: small JPEGs (gray, RGB, CMYK)" * doctest::test_suite("unit")) {
    const int w = 16, h = 8;
    SUBCASE("gray is replicated") {
        auto img = mmt::io::decode_image(write_jpeg(w, h, 1, JCS_GRAYSCALE, bytes(w * h, 77)), "gray.jpg");
        CHECK(img.height == h);
        CHECK(img.width == w);
        CHECK(rgb_of(img) == bytes(w * h * 3, 77));
    }
    SUBCASE("RGB comes back through YCbCr within one level") {
        bytes rgb;
        for (int i = 0; i < w * h; ++i) rgb.insert(rgb.end(), {200, 100, 50});
        auto img = mmt::io::decode_image(write_jpeg(w, h, 3, JCS_RGB, rgb), "rgb.jpg");
        int worst = 0;
        for (std::size_t i = 0; i < rgb.size(); ++i) worst = std::max(worst, std::abs(int(img.pixels[i]) - int(rgb[i])));
        CHECK(worst <= 1);
    }
    SUBCASE("CMYK is read inverted (Adobe convention) then cmyk2rgb") {
        bytes cmyk;
        for (int i = 0; i < w * h; ++i) cmyk.insert(cmyk.end(), {200, 100, 50, 128});
        auto img = mmt::io::decode_image(write_jpeg(w, h, 4, JCS_CMYK, cmyk), "cmyk.jpg");
        // Inverted: C'=55, M'=155, Y'=205, K'=127; R = (255-K') - C'(255-K')/255 rounded as MULDIV255.
        bytes expected;
        for (int i = 0; i < w * h; ++i) expected.insert(expected.end(), {100, 50, 25});
        CHECK(rgb_of(img) == expected);
    }
}

TEST_CASE("io.image: errors name the image and say what is wrong" * doctest::test_suite("unit")) {
    using doctest::Contains;
    SUBCASE("not an image") {
        bytes text{'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'};
        CHECK_THROWS_WITH_AS(mmt::io::decode_image(text, "notes.png"), Contains("'notes.png': not a PNG or JPEG image; expected the signature 89 50 4E 47 0D 0A 1A 0A (PNG) or FF D8 FF (JPEG), got 68 65 6C 6C 6F 20 77 6F"),
                             mmt::format_error);
        CHECK_THROWS_WITH_AS(mmt::io::decode_image(bytes{}, "empty.jpg"), Contains("'empty.jpg': empty data"),
                             mmt::format_error);
    }
    SUBCASE("missing file") {
        CHECK_THROWS_WITH_AS(mmt::io::read_image("/nonexistent/cat.png"), Contains("/nonexistent/cat.png"),
                             mmt::io_error);
    }
    SUBCASE("truncated PNG") {
        auto png = read_bytes(mmt::test::data_path("clip-images/chelsea.png"));
        png.resize(png.size() / 2);
        CHECK_THROWS_WITH_AS(mmt::io::decode_image(png, "half.png"),
                             Contains("'half.png': invalid PNG (truncated PNG data"), mmt::format_error);
    }
    SUBCASE("truncated JPEG") {
        auto jpg = read_bytes(mmt::test::data_path("clip-images/rocket.jpg"));
        jpg.resize(jpg.size() / 2);
        CHECK_THROWS_WITH_AS(mmt::io::decode_image(jpg, "half.jpg"),
                             Contains("'half.jpg': invalid JPEG (truncated JPEG data"), mmt::format_error);
        jpg.resize(200);  // inside the headers
        CHECK_THROWS_WITH_AS(mmt::io::decode_image(jpg, "head.jpg"), Contains("'head.jpg': invalid JPEG"),
                             mmt::format_error);
    }
    SUBCASE("0x0 PNG header") {
        bytes png{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
        bytes ihdr{'I', 'H', 'D', 'R', 0, 0, 0, 0, 0, 0, 0, 0, 8, 2, 0, 0, 0};  // 0x0, 8-bit RGB
        put_u32(png, 13);
        png.insert(png.end(), ihdr.begin(), ihdr.end());
        put_u32(png, crc32(ihdr.data(), ihdr.size()));
        CHECK_THROWS_WITH_AS(mmt::io::decode_image(png, "empty.png"), Contains("'empty.png': invalid PNG (Invalid IHDR data; libpng warned: Image width is zero in IHDR)"),
                             mmt::format_error);
    }
    SUBCASE("0-line JPEG header") {
        auto jpg = write_jpeg(8, 8, 1, JCS_GRAYSCALE, bytes(64, 9));
        // SOF0: FF C0, length (2), precision (1), height (2), width (2)
        std::size_t sof = 2;
        while (!(jpg[sof] == 0xff && jpg[sof + 1] == 0xc0)) ++sof;
        jpg[sof + 5] = jpg[sof + 6] = 0;
        CHECK_THROWS_WITH_AS(mmt::io::decode_image(jpg, "flat.jpg"), Contains("'flat.jpg': invalid JPEG"),
                             mmt::format_error);
    }
    SUBCASE("over the pixel limit, refused from the header") {
        mmt::io::image_limits limits;
        limits.max_pixels = 100000;
        CHECK_THROWS_WITH_AS(mmt::io::read_image(mmt::test::data_path("clip-images/chelsea.png"), limits),
                             Contains("451x300 = 135300 pixels exceeds the limit of 100000"), mmt::input_error);
        CHECK_THROWS_WITH_AS(mmt::io::read_image(mmt::test::data_path("clip-images/rocket.jpg"), limits),
                             Contains("rocket.jpg': 640x427 = 273280 pixels exceeds"), mmt::input_error);
    }
}
