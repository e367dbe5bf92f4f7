// Folders of image files for the tests and the benchmark of embed-collection: PNG
// and JPEG encoded by libpng and libjpeg from generated pixels, with damaged files
// and files that are not images at known places. It reads no test data, so the
// benchmarks include it too.
#pragma once

#include <png.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>  // jpeglib.h needs FILE and size_t declared first
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <jpeglib.h>

#include "mmt/io/image.hpp"

namespace mmt::test {

// libpng's write callback into the std::string given as its io pointer.
inline void append_png_to_string(png_structp png, png_bytep data, png_size_t n) {
    static_cast<std::string*>(png_get_io_ptr(png))->append(reinterpret_cast<const char*>(data), n);
}

// The bytes of a PNG file holding an 8-bit RGB image.
inline std::string encode_png(const io::rgb_image& image) {
    std::string out;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
    png_infop info = png_create_info_struct(png);
    // No setjmp: libpng cannot fail on these valid images short of memory.
    png_set_write_fn(png, &out, append_png_to_string, nullptr);
    png_set_IHDR(png, info, png_uint_32(image.width), png_uint_32(image.height), 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (std::size_t y = 0; y < image.height; ++y)
        png_write_row(png, const_cast<png_bytep>(image.pixels.data() + y * image.width * 3));
    png_write_end(png, nullptr);
    png_destroy_write_struct(&png, &info);
    return out;
}

// A PNG whose header declares width x height RGB pixels, followed by the start of an
// IDAT chunk and nothing else: all a decoder may read before allocating.
inline std::string png_header_only(std::uint32_t width, std::uint32_t height) {
    std::string out;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
    png_infop info = png_create_info_struct(png);
    png_set_write_fn(png, &out, append_png_to_string, nullptr);
    png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    png_destroy_write_struct(&png, &info);
    return out + std::string("\0\0\0\x10IDAT", 8) + std::string(16, '\0');
}

struct jpeg_options {
    int quality = 75;          // libjpeg's default
    bool progressive = false;  // jpeg_simple_progression's scans instead of one
};

// The bytes of a JPEG file (libjpeg's defaults otherwise: 4:2:0) of width x height
// pixels of `components` samples (1: grey, 3: RGB), row y written by
// fill_row(y, samples), one row at a time, so that a large image needs no buffer of it.
template <class FillRow>
std::string encode_jpeg_rows(std::uint32_t width, std::uint32_t height, int components, FillRow fill_row, const jpeg_options& options = {}) {
    jpeg_compress_struct c{};
    jpeg_error_mgr errors{};
    c.err = jpeg_std_error(&errors);
    jpeg_create_compress(&c);
    unsigned char* buffer = nullptr;
    unsigned long size = 0;
    jpeg_mem_dest(&c, &buffer, &size);
    c.image_width = width;
    c.image_height = height;
    c.input_components = components;
    c.in_color_space = components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, options.quality, TRUE);
    if (options.progressive) jpeg_simple_progression(&c);
    jpeg_start_compress(&c, TRUE);
    std::vector<JSAMPLE> row(std::size_t(width) * components);
    JSAMPROW rows[1] = {row.data()};
    while (c.next_scanline < c.image_height) {
        fill_row(c.next_scanline, row.data());
        jpeg_write_scanlines(&c, rows, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    std::string out(reinterpret_cast<const char*>(buffer), size);
    std::free(buffer);
    return out;
}

// The bytes of a baseline JPEG file of an RGB image at `quality`.
inline std::string encode_jpeg(const io::rgb_image& image, int quality) {
    const std::size_t stride = image.width * 3;
    const auto copy_row = [&](std::size_t y, JSAMPLE* row) { std::copy_n(image.pixels.data() + y * stride, stride, row); };
    jpeg_options options;
    options.quality = quality;
    return encode_jpeg_rows(JDIMENSION(image.width), JDIMENSION(image.height), 3, copy_row, options);
}

// Smooth colour gradients with a fine texture, different for each seed: compresses
// and decodes like a photograph, not like noise.
inline io::rgb_image synthetic_photo(std::size_t height, std::size_t width, std::uint32_t seed) {
    std::mt19937 gen(seed);
    std::uniform_real_distribution<double> phase(0, 6.28), noise(-12, 12);
    const double a = phase(gen), b = phase(gen), c = phase(gen);
    io::rgb_image image{height, width, std::vector<std::uint8_t>(height * width * 3)};
    for (std::size_t y = 0; y < height; ++y)
        for (std::size_t x = 0; x < width; ++x) {
            const double u = double(x) / double(width), v = double(y) / double(height);
            const double base[3] = {128 + 100 * std::sin(3 * u + a), 128 + 100 * std::sin(4 * v + b), 128 + 100 * std::sin(2 * (u + v) + c)};
            for (std::size_t ch = 0; ch < 3; ++ch)
                image.pixels[(y * width + x) * 3 + ch] = std::uint8_t(std::clamp(base[ch] + noise(gen), 0.0, 255.0));
        }
    return image;
}

struct image_collection_spec {
    std::size_t count = 0;
    std::size_t min_width = 8, max_width = 48, min_height = 8, max_height = 48;  // drawn for each image
    // Every bad_every-th file is bad, in turn: a truncated PNG, a truncated JPEG, text
    // named .jpg, an empty file; 0: none is.
    std::size_t bad_every = 0;
    bool jpeg_only = false;  // else PNG and JPEG in turn
    int jpeg_quality = 90;
};

struct collection_file {
    std::string id;     // path relative to the folder: the manifest's id
    bool image = true;  // false: a file the run must report as failed
};

// Writes the files of `spec` into `dir` spread over 10 subfolders ("d3/00042.png"), and
// returns them in the collection's order (sorted by path).
inline std::vector<collection_file> write_image_collection(const std::filesystem::path& dir, const image_collection_spec& spec) {
    std::mt19937 gen(1234);
    std::uniform_int_distribution<std::size_t> width(spec.min_width, spec.max_width), height(spec.min_height, spec.max_height);
    std::vector<collection_file> files;
    for (std::size_t i = 0; i < spec.count; ++i) {
        const io::rgb_image photo = synthetic_photo(height(gen), width(gen), std::uint32_t(i));
        const bool bad = spec.bad_every && i % spec.bad_every == 2;
        const std::size_t bad_kind = spec.bad_every ? i / spec.bad_every % 4 : 0;
        const bool jpeg = spec.jpeg_only || (bad ? bad_kind != 0 : i % 2 == 1);
        std::string bytes = jpeg ? encode_jpeg(photo, spec.jpeg_quality) : encode_png(photo);
        if (bad && bad_kind < 2) bytes.resize(bytes.size() / 2);
        if (bad && bad_kind == 2) bytes = "not an image\n";
        if (bad && bad_kind == 3) bytes.clear();
        char name[32];
        std::snprintf(name, sizeof name, "d%zu/%05zu.%s", i % 10, i, jpeg ? "jpg" : "png");
        std::filesystem::create_directories((dir / name).parent_path());
        std::ofstream(dir / name, std::ios::binary) << bytes;
        files.push_back({name, !bad});
    }
    std::sort(files.begin(), files.end(), [](const collection_file& a, const collection_file& b) { return a.id < b.id; });
    return files;
}

}  // namespace mmt::test
