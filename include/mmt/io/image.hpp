// PNG and JPEG decoding to 8-bit RGB, with the pixel values Pillow 9.4 gives for
// Image.open(path).convert("RGB") -- the decoder HF's image processors were fed
// when the reference numbers were made. The format is told by magic bytes.
//
// What convert("RGB") does per source mode (Pillow's PngImagePlugin _MODES,
// JpegImagePlugin and Convert.c):
//   PNG gray 1/2/4/8 bit   -> L (bits replicated up to 8), then copied to R=G=B
//   PNG gray 16 bit        -> mode I holding 0..65535; I->RGB *clips* to 255
//                             (no scaling: only values 0..254 survive)
//   PNG RGB/RGBA/LA 16 bit -> high byte of each sample (rawmodes *;16B)
//   PNG LA, RGBA           -> alpha dropped, no compositing on a background
//   PNG palette            -> palette lookup, tRNS ignored; an index past the
//                             PLTE entries reads Pillow 9's default ramp (i,i,i)
//   JPEG 1/3 components    -> libjpeg's gray / RGB output (ISLOW IDCT, fancy
//                             upsampling: libjpeg's defaults, which Pillow keeps)
//   JPEG 4 components      -> CMYK read inverted ("CMYK;I", Pillow assumes Adobe
//                             conventions for every CMYK JPEG), then cmyk2rgb
// EXIF orientation is not applied (Image.open does not apply it either).
// Truncated data is an error, as in Pillow without LOAD_TRUNCATED_IMAGES; a JPEG
// whose scan data is complete but lacks the final EOI marker is accepted, as Pillow does.
//
// Memory follows the data, not the header's claim: the declared size is checked
// against image_limits and against the least number of bytes that could encode it
// (deflate expands at most 1032:1; a Huffman-coded JPEG spends at least a bit on
// each 8x8 block's DC) before anything is sized, and sequential images are decoded
// a row at a time into a buffer that grows, so data that ends early has allocated
// no more than it held. Pillow decodes a tiny JPEG whose scan ends at an early EOI
// as a grey image of the declared size; here a file too small for its declared
// size is a format_error. Progressive JPEGs stop after image_limits::max_jpeg_scans.
//
// libpng and libjpeg report errors through callbacks that must not return; they
// longjmp back into small functions that hold no C++ objects with destructors
// (png_stage_* / jpeg_stage_*). Everything that owns memory lives in the caller.
#pragma once

#include <csetjmp>
#include <cstddef>
#include <cstdint>
#include <cstdio>  // jpeglib.h needs FILE and size_t declared first
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <jerror.h>
#include <jpeglib.h>
#include <png.h>

#include "mmt/core/error.hpp"
#include "mmt/io/mapped_file.hpp"

namespace mmt::io {

// An 8-bit RGB image, rows top to bottom, pixels interleaved.
struct rgb_image {
    std::size_t height = 0;
    std::size_t width = 0;
    std::vector<std::uint8_t> pixels;  // [height, width, 3]
};

// Checked from an image's header, before anything is allocated.
struct image_limits {
    // Pillow's DecompressionBombError guards the same way, at ~179 Mpx.
    std::size_t max_pixels = 100'000'000;
    // Scans of one JPEG: a progressive one is decoded over the whole image once per scan;
    // encoders write about 10 (jpeg_simple_progression), and 1000 is djpeg's -maxscans advice.
    int max_jpeg_scans = 1000;
    // Called with the header's size before any pixel is decoded, so that what comes
    // next can refuse an image it could not use (clip_image_processor::image_limits():
    // a resize to more than max_pixels).
    std::function<void(std::size_t height, std::size_t width, const std::string& name)> check_size;
};

enum class image_format { unknown, png, jpeg };

inline image_format detect_image_format(const std::uint8_t* data, std::size_t size) {
    static constexpr std::uint8_t png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (size >= 8 && std::memcmp(data, png_magic, 8) == 0) return image_format::png;
    if (size >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff) return image_format::jpeg;
    return image_format::unknown;
}

namespace detail {

// Where a library callback leaves its message before jumping back.
struct decode_failure {
    std::jmp_buf jump;
    char message[JMSG_LENGTH_MAX > 256 ? JMSG_LENGTH_MAX : 256] = {};

    void set(const char* text) {
        std::strncpy(message, text, sizeof(message) - 1);
        message[sizeof(message) - 1] = '\0';
    }
};

struct image_header {
    std::size_t height = 0, width = 0;
    int channels = 0;   // samples per pixel in the decoder's output rows
    int bit_depth = 8;  // 8 or 16 (PNG only)
    std::size_t row_bytes = 0;
    // The fewest bytes of file that could encode the declared image (0: no bound known).
    std::size_t min_file_bytes = 0;
};

// Before anything is sized: the declared size against the limits, then against the file.
inline void check_header(const image_header& h, const std::string& name, const char* format, std::size_t file_bytes,
                         const image_limits& limits) {
    if (h.width == 0 || h.height == 0)
        fail<format_error>("image '", name, "': ", format, " header declares an empty image (", h.width, "x",
                           h.height, "); expected a width and height of at least 1");
    if (h.width > limits.max_pixels / h.height)
        fail<input_error>("image '", name, "': ", h.width, "x", h.height, " = ", h.width * h.height,
                          " pixels exceeds the limit of ", limits.max_pixels, " pixels (image_limits::max_pixels)");
    if (limits.check_size) limits.check_size(h.height, h.width, name);
    if (file_bytes < h.min_file_bytes)
        fail<format_error>("image '", name, "': ", format, " header declares ", h.width, "x", h.height,
                           " pixels, which need at least ", h.min_file_bytes, " bytes of image data; the file has ",
                           file_bytes, ": truncated or not a real image?");
}

// Pillow's Convert.c cmyk2rgb with MULDIV255: x * nk / 255 rounded, on inverted samples.
inline std::uint8_t cmyk_channel_to_rgb(std::uint8_t ink, int not_black) {
    int t = ink * not_black + 128;
    int v = not_black - (((t >> 8) + t) >> 8);
    return static_cast<std::uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
}

// ---------------------------------------------------------------- PNG

struct png_state {
    decode_failure failure;
    const std::uint8_t* data = nullptr;
    std::size_t size = 0;
    std::size_t offset = 0;
    png_structp png = nullptr;
    png_infop info = nullptr;
    int color_type = 0;
    png_colorp palette = nullptr;
    int palette_size = 0;
    bool interlaced = false;
    // libpng explains some errors in a warning just before them ("Image width is
    // zero in IHDR", then "Invalid IHDR data"); the first one goes into the message.
    char first_warning[256] = {};
};

inline void png_on_error(png_structp png, png_const_charp message) {
    auto* state = static_cast<png_state*>(png_get_error_ptr(png));
    state->failure.set(message);
    std::longjmp(state->failure.jump, 1);
}

inline void png_on_warning(png_structp png, png_const_charp message) {
    auto* state = static_cast<png_state*>(png_get_error_ptr(png));
    if (state->first_warning[0] == '\0') std::strncpy(state->first_warning, message, sizeof(state->first_warning) - 1);
}

inline void png_on_read(png_structp png, png_bytep out, png_size_t count) {
    auto* state = static_cast<png_state*>(png_get_io_ptr(png));
    if (count > state->size - state->offset) png_error(png, "truncated PNG data (the file ends early)");
    std::memcpy(out, state->data + state->offset, count);
    state->offset += count;
}

// Reads the chunks up to the image data and sets the transforms; false on a libpng error.
inline bool png_stage_header(png_state& s, image_header& h) {
    if (setjmp(s.failure.jump)) return false;
    s.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &s, png_on_error, png_on_warning);
    if (!s.png) {
        s.failure.set("cannot create the libpng read structure");
        return false;
    }
    s.info = png_create_info_struct(s.png);
    if (!s.info) png_error(s.png, "cannot create the libpng info structure");
    png_set_read_fn(s.png, &s, png_on_read);
    png_read_info(s.png, s.info);
    s.color_type = png_get_color_type(s.png, s.info);
    int depth = png_get_bit_depth(s.png, s.info);
    s.interlaced = png_get_interlace_type(s.png, s.info) != PNG_INTERLACE_NONE;
    // The filtered scanlines hold at least the image's bits, and deflate expands at
    // most 1032:1 (a 258-byte match in 2 bits), so IDAT needs this many bytes at least.
    const double stored_bits = double(png_get_image_width(s.png, s.info)) * double(png_get_image_height(s.png, s.info)) *
                               png_get_channels(s.png, s.info) * depth;
    h.min_file_bytes = static_cast<std::size_t>(stored_bits / 8 / 1032);
    if (s.color_type == PNG_COLOR_TYPE_PALETTE) {
        if (png_get_PLTE(s.png, s.info, &s.palette, &s.palette_size) != PNG_INFO_PLTE)
            png_error(s.png, "palette image without a PLTE chunk");
        if (depth < 8) png_set_packing(s.png);  // one index per byte
    } else if (s.color_type == PNG_COLOR_TYPE_GRAY && depth < 8) {
        png_set_expand_gray_1_2_4_to_8(s.png);  // replicates the bits, as Pillow's L;2 / L;4 / 1
    }
    png_set_interlace_handling(s.png);
    png_read_update_info(s.png, s.info);
    h.width = png_get_image_width(s.png, s.info);
    h.height = png_get_image_height(s.png, s.info);
    h.channels = png_get_channels(s.png, s.info);
    h.bit_depth = png_get_bit_depth(s.png, s.info);
    h.row_bytes = png_get_rowbytes(s.png, s.info);
    return true;
}

inline bool png_stage_pixels(png_state& s, png_bytepp rows) {
    if (setjmp(s.failure.jump)) return false;
    png_read_image(s.png, rows);
    return true;
}

inline bool png_stage_row(png_state& s, png_bytep row) {
    if (setjmp(s.failure.jump)) return false;
    png_read_row(s.png, row, nullptr);
    return true;
}

struct png_cleanup {
    png_state& s;
    ~png_cleanup() {
        if (s.png) png_destroy_read_struct(&s.png, s.info ? &s.info : nullptr, nullptr);
    }
};

// Decoder rows (8-bit samples, or 16-bit big-endian) -> RGB as Pillow's convert("RGB").
inline void png_rows_to_rgb(const png_state& s, const image_header& h, const std::vector<std::uint8_t>& raw,
                            rgb_image& out) {
    const std::size_t step = h.bit_depth / 8;  // bytes per sample; the first is the high byte
    const std::size_t pixel_bytes = step * static_cast<std::size_t>(h.channels);
    const bool palette = s.color_type == PNG_COLOR_TYPE_PALETTE;
    const bool gray16 = s.color_type == PNG_COLOR_TYPE_GRAY && h.bit_depth == 16;
    const bool color = (s.color_type & PNG_COLOR_MASK_COLOR) != 0;
    out.pixels.resize(h.height * h.width * 3);
    std::uint8_t* dst = out.pixels.data();
    for (std::size_t y = 0; y < h.height; ++y) {
        const std::uint8_t* p = raw.data() + y * h.row_bytes;
        for (std::size_t x = 0; x < h.width; ++x, p += pixel_bytes, dst += 3) {
            if (palette) {
                const int i = p[0];
                if (i < s.palette_size) {
                    dst[0] = s.palette[i].red, dst[1] = s.palette[i].green, dst[2] = s.palette[i].blue;
                } else {
                    dst[0] = dst[1] = dst[2] = static_cast<std::uint8_t>(i);
                }
            } else if (gray16) {
                const unsigned v = (unsigned{p[0]} << 8) | p[1];
                dst[0] = dst[1] = dst[2] = static_cast<std::uint8_t>(v > 255 ? 255 : v);
            } else if (color) {
                dst[0] = p[0], dst[1] = p[step], dst[2] = p[2 * step];
            } else {
                dst[0] = dst[1] = dst[2] = p[0];
            }
        }
    }
}

inline rgb_image decode_png(const std::uint8_t* data, std::size_t size, const std::string& name,
                            const image_limits& limits) {
    png_state s;
    s.data = data;
    s.size = size;
    png_cleanup cleanup{s};
    auto failed = [&] {
        fail<format_error>("image '", name, "': invalid PNG (", s.failure.message,
                           s.first_warning[0] ? "; libpng warned: " : "", s.first_warning, ")");
    };
    image_header h;
    if (!png_stage_header(s, h)) failed();
    check_header(h, name, "PNG", size, limits);

    std::vector<std::uint8_t> raw;
    if (s.interlaced) {  // Adam7's passes each visit rows all over the image
        raw.resize(h.row_bytes * h.height);
        std::vector<png_bytep> rows(h.height);
        for (std::size_t y = 0; y < h.height; ++y) rows[y] = raw.data() + y * h.row_bytes;
        if (!png_stage_pixels(s, rows.data())) failed();
    } else {
        for (std::size_t y = 0; y < h.height; ++y) {
            raw.resize((y + 1) * h.row_bytes);  // grows geometrically, as far as the data goes
            if (!png_stage_row(s, raw.data() + y * h.row_bytes)) failed();
        }
    }

    rgb_image out{h.height, h.width, {}};
    if (s.color_type == PNG_COLOR_TYPE_RGB && h.bit_depth == 8) {
        out.pixels = std::move(raw);  // rows are already packed RGB
    } else {
        png_rows_to_rgb(s, h, raw, out);
    }
    return out;
}

// ---------------------------------------------------------------- JPEG

struct jpeg_state {
    decode_failure failure;
    jpeg_error_mgr errors{};
    jpeg_progress_mgr progress{};
    jpeg_decompress_struct cinfo{};
    bool created = false;
    int max_scans = 0;
    bool too_many_scans = false;
};

inline void jpeg_on_error(j_common_ptr cinfo) {
    auto* state = static_cast<jpeg_state*>(cinfo->client_data);
    if (cinfo->err->msg_code == JERR_INPUT_EOF) {
        state->failure.set("truncated JPEG data (the file ends early)");
    } else {
        (*cinfo->err->format_message)(cinfo, state->failure.message);
    }
    std::longjmp(state->failure.jump, 1);
}

inline void jpeg_on_message(j_common_ptr) {}  // Pillow ignores libjpeg's warnings too

// libjpeg calls this at least once per scan while it reads a multi-scan image.
inline void jpeg_on_progress(j_common_ptr common) {
    auto* state = static_cast<jpeg_state*>(common->client_data);
    if (state->cinfo.input_scan_number <= state->max_scans) return;
    state->too_many_scans = true;
    std::longjmp(state->failure.jump, 1);
}

// The memory source would append a fake EOI at the end of the data and warn;
// Pillow stops with "image file is truncated" instead.
inline boolean jpeg_on_end_of_data(j_decompress_ptr cinfo) {
    ERREXIT(cinfo, JERR_INPUT_EOF);
    return FALSE;
}

inline bool jpeg_stage_header(jpeg_state& s, const std::uint8_t* data, std::size_t size, image_header& h) {
    if (setjmp(s.failure.jump)) return false;
    s.cinfo.err = jpeg_std_error(&s.errors);
    s.errors.error_exit = jpeg_on_error;
    s.errors.output_message = jpeg_on_message;
    s.cinfo.client_data = &s;
    jpeg_create_decompress(&s.cinfo);
    s.created = true;
    jpeg_mem_src(&s.cinfo, data, static_cast<unsigned long>(size));
    s.cinfo.src->fill_input_buffer = jpeg_on_end_of_data;
    jpeg_read_header(&s.cinfo, TRUE);
    switch (s.cinfo.num_components) {
        case 1: s.cinfo.out_color_space = JCS_GRAYSCALE; break;
        case 3: s.cinfo.out_color_space = JCS_RGB; break;
        case 4: s.cinfo.out_color_space = JCS_CMYK; break;
        default:
            s.failure.set("unsupported number of colour components (expected 1, 3 or 4, as Pillow)");
            return false;
    }
    s.cinfo.dct_method = JDCT_ISLOW;
    s.cinfo.do_fancy_upsampling = TRUE;
    s.progress.progress_monitor = jpeg_on_progress;
    s.cinfo.progress = &s.progress;
    h.width = s.cinfo.image_width;
    h.height = s.cinfo.image_height;
    h.channels = s.cinfo.num_components;
    h.row_bytes = h.width * static_cast<std::size_t>(h.channels);
    // Huffman codes are at least a bit long, and every block's DC is coded (sequential:
    // a DC code and an end of block; progressive: the first DC scan). Arithmetic coding
    // can spend less than a bit on a block, so it gets no bound.
    if (!s.cinfo.arith_code) {
        double blocks = 0;
        for (int c = 0; c < s.cinfo.num_components; ++c)
            blocks += double(s.cinfo.comp_info[c].width_in_blocks) * double(s.cinfo.comp_info[c].height_in_blocks);
        h.min_file_bytes = static_cast<std::size_t>(blocks / 8);
    }
    return true;
}

// Starts the output; a multi-scan (progressive) image's scans are all read here, into
// libjpeg's coefficient buffer.
inline bool jpeg_stage_start(jpeg_state& s) {
    if (setjmp(s.failure.jump)) return false;
    jpeg_start_decompress(&s.cinfo);
    return true;
}

inline bool jpeg_stage_row(jpeg_state& s, std::uint8_t* row) {
    if (setjmp(s.failure.jump)) return false;
    jpeg_read_scanlines(&s.cinfo, &row, 1);
    return true;
}

struct jpeg_cleanup {
    jpeg_state& s;
    ~jpeg_cleanup() {
        if (s.created) jpeg_destroy_decompress(&s.cinfo);
    }
};

inline rgb_image decode_jpeg(const std::uint8_t* data, std::size_t size, const std::string& name,
                             const image_limits& limits) {
    jpeg_state s;
    jpeg_cleanup cleanup{s};
    s.max_scans = limits.max_jpeg_scans;
    image_header h;
    auto failed = [&] {
        if (s.too_many_scans)
            fail<input_error>("image '", name, "': ", s.cinfo.progressive_mode ? "progressive " : "", "JPEG of more than ", limits.max_jpeg_scans,
                              " scans; expected at most ", limits.max_jpeg_scans, " (image_limits::max_jpeg_scans)");
        fail<format_error>("image '", name, "': invalid JPEG (", s.failure.message, ")");
    };
    if (!jpeg_stage_header(s, data, size, h)) failed();
    check_header(h, name, "JPEG", size, limits);

    if (!jpeg_stage_start(s)) failed();
    std::vector<std::uint8_t> raw;
    for (std::size_t y = 0; y < h.height; ++y) {
        raw.resize((y + 1) * h.row_bytes);  // grows geometrically, as far as the data goes
        if (!jpeg_stage_row(s, raw.data() + y * h.row_bytes)) failed();
    }

    rgb_image out{h.height, h.width, {}};
    if (h.channels == 3) {
        out.pixels = std::move(raw);
        return out;
    }
    const std::size_t n = h.height * h.width;
    out.pixels.resize(n * 3);
    for (std::size_t i = 0; i < n; ++i) {
        std::uint8_t* dst = &out.pixels[i * 3];
        if (h.channels == 1) {
            dst[0] = dst[1] = dst[2] = raw[i];
        } else {
            const std::uint8_t* p = &raw[i * 4];
            const int not_black = p[3];  // 255 - (255 - K): the inverted K
            for (int ch = 0; ch < 3; ++ch) dst[ch] = cmyk_channel_to_rgb(static_cast<std::uint8_t>(255 - p[ch]), not_black);
        }
    }
    return out;
}

}  // namespace detail

// Decodes a PNG or JPEG held in memory; `name` identifies it in error messages.
inline rgb_image decode_image(const std::uint8_t* data, std::size_t size, const std::string& name,
                              const image_limits& limits = {}) {
    if (size == 0) fail<format_error>("image '", name, "': empty data; expected a PNG or JPEG image");
    switch (detect_image_format(data, size)) {
        case image_format::png: return detail::decode_png(data, size, name, limits);
        case image_format::jpeg: return detail::decode_jpeg(data, size, name, limits);
        case image_format::unknown: break;
    }
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string got;
    for (std::size_t i = 0; i < size && i < 8; ++i) {
        if (i) got += ' ';
        got += hex[data[i] >> 4];
        got += hex[data[i] & 15];
    }
    fail<format_error>("image '", name, "': not a PNG or JPEG image; expected the signature 89 50 4E 47 0D 0A 1A 0A "
                       "(PNG) or FF D8 FF (JPEG), got ", got);
}

inline rgb_image decode_image(const std::vector<std::uint8_t>& bytes, const std::string& name,
                              const image_limits& limits = {}) {
    return decode_image(bytes.data(), bytes.size(), name, limits);
}

// Reads and decodes an image file; the format comes from its bytes, not its extension.
inline rgb_image read_image(const std::filesystem::path& path, const image_limits& limits = {}) {
    mapped_file file(path);
    return decode_image(file.data(), file.size(), path.string(), limits);
}

}  // namespace mmt::io
