// CLIPImageProcessor (transformers models/clip/image_processing_clip.py): resize
// the shortest edge, centre crop, rescale, normalise -> pixel_values [3, H, W].
// ChineseCLIPImageProcessor is the same; SiglipImageProcessor and
// LayoutLMv3ImageProcessor (which mmt never asks for OCR) the same without the
// crop and with other defaults: preprocessor_config.json's image_processor_type
// picks the defaults (clip_image_processor_config::from_json).
//
// HF resizes through PIL (image_transforms.resize -> PIL.Image.resize with
// reducing_gap=None), so `resize` below reproduces Pillow 9.4's ImagingResample
// for 8-bit images (src/libImaging/Resample.c) operation for operation:
// separable, horizontal pass first (only over the rows the vertical pass reads),
// each pass skipped when that side keeps its size; filter support widened by the
// downscale factor (antialiasing); weights normalised in double, then rounded to
// 22-bit fixed point; integer accumulation with a +0.5 bias, clipped to uint8
// after each pass. The crop and the float steps follow image_transforms.py:
// crop offsets floor((size - crop) / 2) with zero padding when the image is
// smaller; rescale in float64 then cast to float32; normalise in float32.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/image.hpp"
#include "mmt/io/json.hpp"

namespace mmt::preprocess {

// transformers' PILImageResampling, i.e. PIL.Image.Resampling numbers.
enum class pil_resampling : int { nearest = 0, lanczos = 1, bilinear = 2, bicubic = 3, box = 4, hamming = 5 };

// HF's size dict in one of the two forms CLIPImageProcessor uses:
// {"shortest_edge": n} (shortest_edge > 0) or {"height": h, "width": w}.
struct size_dict {
    std::int64_t shortest_edge = 0;
    std::int64_t height = 0;
    std::int64_t width = 0;
};

// preprocessor_config.json of a CLIP, Chinese-CLIP, SigLIP or LayoutLMv3 checkpoint;
// member initialisers are CLIPImageProcessor's defaults.
struct clip_image_processor_config {
    bool do_resize = true;
    size_dict size{224, 0, 0};
    pil_resampling resample = pil_resampling::bicubic;
    bool do_center_crop = true;
    size_dict crop_size{0, 224, 224};
    bool do_rescale = true;
    double rescale_factor = 1.0 / 255.0;
    bool do_normalize = true;
    std::array<double, 3> image_mean{0.48145466, 0.4578275, 0.40821073};  // OPENAI_CLIP_MEAN
    std::array<double, 3> image_std{0.26862954, 0.26130258, 0.27577711};   // OPENAI_CLIP_STD
    // Decoded images are always RGB already (io::decode_image does convert("RGB")).
    bool do_convert_rgb = true;

    // The defaults of an image_processor_type: CLIPImageProcessor's (and Chinese-CLIP's);
    // SiglipImageProcessor's and LayoutLMv3ImageProcessor's: 224x224 with no crop, mean
    // and std 0.5, bicubic for SigLIP and bilinear for LayoutLMv3. config_error for others.
    static clip_image_processor_config defaults_of(const std::string& image_processor_type, const std::string& where);
    // The defaults of j's image_processor_type (CLIP's when it has none), then j's keys.
    static clip_image_processor_config from_json(const io::json& j, const std::string& where);
    // Reads <directory>/preprocessor_config.json.
    static clip_image_processor_config from_pretrained(const std::filesystem::path& directory);
    // config_error naming the key for values HF would fail on or turn into inf/NaN.
    void validate(const std::string& where) const;
};

namespace detail {

// size / crop_size as HF's get_size_dict accepts them: an int (shortest edge for
// `size`, a square for `crop_size`), [height, width], or a dict.
inline size_dict parse_size_dict(const io::json& value, const std::string& key, bool int_is_square,
                                 const std::string& where) {
    // A whole number (224 or 224.0), refused past 2^53 before the conversion, which
    // is undefined behaviour for a double beyond int64.
    auto number = [&](const io::json& v, const std::string& what) {
        const double d = v.is_number() ? v.get<double>() : std::nan("");
        if (!(std::fabs(d) <= 9007199254740992.0) || d != std::floor(d))
            fail<config_error>(where, ": key \"", key, "\": ", what, " must be a whole number, got ", v.dump());
        return static_cast<std::int64_t>(d);
    };
    size_dict size;
    if (value.is_number()) {
        std::int64_t n = number(value, key);
        if (int_is_square) size.height = size.width = n;
        else size.shortest_edge = n;
    } else if (value.is_array() && value.size() == 2) {
        size.height = number(value[0], "height");
        size.width = number(value[1], "width");
    } else if (value.is_object() && value.contains("height") && value.contains("width") && value.size() == 2) {
        size.height = number(value["height"], "height");
        size.width = number(value["width"], "width");
    } else if (!int_is_square && value.is_object() && value.contains("shortest_edge") &&
               (value.size() == 1 || (value.size() == 2 && value.contains("longest_edge")))) {
        // CLIPImageProcessor.resize reads only shortest_edge; a longest_edge is ignored there too.
        size.shortest_edge = number(value["shortest_edge"], "shortest_edge");
    } else {
        fail<config_error>(where, ": key \"", key, "\": expected ",
                           int_is_square ? "an int, [height, width] or {\"height\", \"width\"}"
                                         : "an int, [height, width], {\"shortest_edge\"} or {\"height\", \"width\"}",
                           ", got ", value.dump());
    }
    return size;
}

inline std::array<double, 3> parse_channel_values(const io::json& value, const std::string& key,
                                                  const std::string& where) {
    std::array<double, 3> out{};
    if (value.is_number()) {
        out.fill(value.get<double>());
    } else if (value.is_array() && value.size() == 3 &&
               value[0].is_number() && value[1].is_number() && value[2].is_number()) {
        for (std::size_t c = 0; c < 3; ++c) out[c] = value[c].get<double>();
    } else {
        fail<config_error>(where, ": key \"", key, "\": expected a number or a list of 3 numbers (one per RGB channel), got ",
                           value.dump());
    }
    return out;
}

}  // namespace detail

inline void clip_image_processor_config::validate(const std::string& where) const {
    if (size.shortest_edge < 0 || (size.shortest_edge == 0 && (size.height <= 0 || size.width <= 0)))
        fail<config_error>(where, ": key \"size\": expected a positive shortest_edge or positive height and width, got "
                           "shortest_edge=", size.shortest_edge, ", height=", size.height, ", width=", size.width);
    if (crop_size.shortest_edge != 0 || crop_size.height <= 0 || crop_size.width <= 0)
        fail<config_error>(where, ": key \"crop_size\": expected positive height and width, got height=",
                           crop_size.height, ", width=", crop_size.width);
    // Sizes whose output could not be decoded as an image are refused before any
    // image is resized (a crop larger than the resized image is fine: HF zero-pads).
    const auto max_pixels = static_cast<std::int64_t>(io::image_limits{}.max_pixels);
    const auto too_many = [&](std::int64_t h, std::int64_t w) { return h > max_pixels / w; };
    if (size.shortest_edge > 0 ? too_many(size.shortest_edge, size.shortest_edge) : too_many(size.height, size.width))
        fail<config_error>(where, ": key \"size\": shortest_edge=", size.shortest_edge, ", height=", size.height,
                           ", width=", size.width, " makes images of more than ", max_pixels,
                           " pixels (image_limits::max_pixels)");
    if (too_many(crop_size.height, crop_size.width))
        fail<config_error>(where, ": key \"crop_size\": ", crop_size.height, "x", crop_size.width, " is more than ",
                           max_pixels, " pixels (image_limits::max_pixels)");
    const int r = static_cast<int>(resample);
    if (r < 1 || r > 5)
        fail<config_error>(where, ": key \"resample\": expected 1 (lanczos), 2 (bilinear), 3 (bicubic), 4 (box) or "
                           "5 (hamming), got ", r, r == 0 ? " (nearest, not supported)" : "");
    if (!std::isfinite(rescale_factor))
        fail<config_error>(where, ": key \"rescale_factor\": expected a finite number, got ", rescale_factor);
    for (std::size_t c = 0; c < 3; ++c) {
        if (!std::isfinite(image_mean[c]))
            fail<config_error>(where, ": key \"image_mean\": expected finite values, got ", image_mean[c],
                               " for channel ", c);
        if (!std::isfinite(image_std[c]) || image_std[c] == 0)
            fail<config_error>(where, ": key \"image_std\": expected finite non-zero values, got ", image_std[c],
                               " for channel ", c);
    }
}

inline clip_image_processor_config clip_image_processor_config::defaults_of(const std::string& image_processor_type,
                                                                           const std::string& where) {
    clip_image_processor_config c;
    if (image_processor_type == "CLIPImageProcessor" || image_processor_type == "CLIPFeatureExtractor" ||
        image_processor_type == "ChineseCLIPImageProcessor" || image_processor_type == "ChineseCLIPFeatureExtractor")
        return c;
    if (image_processor_type != "SiglipImageProcessor" && image_processor_type != "LayoutLMv3ImageProcessor")
        fail<config_error>(where, ": key \"image_processor_type\": expected CLIPImageProcessor, ChineseCLIPImageProcessor, "
                           "SiglipImageProcessor or LayoutLMv3ImageProcessor, got \"", image_processor_type, "\"");
    c.size = {0, 224, 224};
    c.do_center_crop = false;
    c.image_mean = {0.5, 0.5, 0.5};  // IMAGENET_STANDARD_MEAN
    c.image_std = {0.5, 0.5, 0.5};   // IMAGENET_STANDARD_STD
    if (image_processor_type == "LayoutLMv3ImageProcessor") c.resample = pil_resampling::bilinear;
    return c;
}

inline clip_image_processor_config clip_image_processor_config::from_json(const io::json& j, const std::string& where) {
    std::string type = "CLIPImageProcessor";
    io::json_optional(j, "image_processor_type", type, where);
    clip_image_processor_config c = defaults_of(type, where);
    const bool crops = c.do_center_crop;  // the processors without a crop ignore its keys
    io::json_optional(j, "do_resize", c.do_resize, where);
    if (j.contains("size") && !j["size"].is_null()) c.size = detail::parse_size_dict(j["size"], "size", false, where);
    int resample = static_cast<int>(c.resample);
    io::json_optional(j, "resample", resample, where);
    c.resample = static_cast<pil_resampling>(resample);
    if (crops) {
        io::json_optional(j, "do_center_crop", c.do_center_crop, where);
        if (j.contains("crop_size") && !j["crop_size"].is_null())
            c.crop_size = detail::parse_size_dict(j["crop_size"], "crop_size", true, where);
    }
    io::json_optional(j, "do_rescale", c.do_rescale, where);
    io::json_optional(j, "rescale_factor", c.rescale_factor, where);
    io::json_optional(j, "do_normalize", c.do_normalize, where);
    if (j.contains("image_mean") && !j["image_mean"].is_null())
        c.image_mean = detail::parse_channel_values(j["image_mean"], "image_mean", where);
    if (j.contains("image_std") && !j["image_std"].is_null())
        c.image_std = detail::parse_channel_values(j["image_std"], "image_std", where);
    io::json_optional(j, "do_convert_rgb", c.do_convert_rgb, where);
    c.validate(where);
    return c;
}

inline clip_image_processor_config clip_image_processor_config::from_pretrained(const std::filesystem::path& directory) {
    const auto path = directory / "preprocessor_config.json";
    return from_json(io::read_json_file(path), path.string());
}

// transformers image_transforms.get_resize_output_image_size(default_to_square=False):
// the short side becomes `shortest_edge`, the long side int(shortest_edge * long / short).
// Returns {height, width}.
inline std::pair<std::size_t, std::size_t> get_resize_output_image_size(std::size_t height, std::size_t width,
                                                                        std::size_t shortest_edge) {
    const bool portrait = width <= height;
    const std::size_t short_side = portrait ? width : height, long_side = portrait ? height : width;
    const auto new_long = static_cast<std::size_t>(static_cast<double>(shortest_edge * long_side) /
                                                   static_cast<double>(short_side));
    return portrait ? std::pair{new_long, shortest_edge} : std::pair{shortest_edge, new_long};
}

namespace detail {

inline constexpr int precision_bits = 32 - 8 - 2;  // Pillow's PRECISION_BITS
inline constexpr double pi = 3.14159265358979323846;

inline double sinc(double x) {
    if (x == 0.0) return 1.0;
    x *= pi;
    return std::sin(x) / x;
}

// Pillow's filter kernels and their supports (Resample.c).
inline double filter_support(pil_resampling f) {
    switch (f) {
        case pil_resampling::box: return 0.5;
        case pil_resampling::bilinear: return 1.0;
        case pil_resampling::hamming: return 1.0;
        case pil_resampling::bicubic: return 2.0;
        case pil_resampling::lanczos: return 3.0;
        default: fail<config_error>("resize: unsupported resample filter ", static_cast<int>(f));
    }
}

inline double filter_weight(pil_resampling f, double x) {
    switch (f) {
        case pil_resampling::box: return (x > -0.5 && x <= 0.5) ? 1.0 : 0.0;
        case pil_resampling::bilinear:
            x = std::fabs(x);
            return x < 1.0 ? 1.0 - x : 0.0;
        case pil_resampling::hamming:
            x = std::fabs(x);
            if (x == 0.0) return 1.0;
            if (x >= 1.0) return 0.0;
            x *= pi;
            return std::sin(x) / x * (0.54f + 0.46f * std::cos(x));  // float constants, as Pillow writes them
        case pil_resampling::bicubic: {
            constexpr double a = -0.5;
            x = std::fabs(x);
            if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
            if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
            return 0.0;
        }
        case pil_resampling::lanczos: return (-3.0 <= x && x < 3.0) ? sinc(x) * sinc(x / 3) : 0.0;
        default: return 0.0;
    }
}

// Per output pixel: the first input index, how many inputs it reads, and their
// fixed-point weights (stride `taps`). Pillow's precompute_coeffs + normalize_coeffs_8bpc.
struct resample_coefficients {
    std::size_t taps = 0;
    std::vector<std::size_t> first;
    std::vector<std::size_t> count;
    std::vector<std::int32_t> weights;  // [out_size, taps]
};

inline resample_coefficients precompute_coefficients(std::size_t in_size, std::size_t out_size, pil_resampling f) {
    const double scale = static_cast<double>(static_cast<float>(in_size)) / static_cast<double>(out_size);
    const double filterscale = scale < 1.0 ? 1.0 : scale;
    const double support = filter_support(f) * filterscale;
    resample_coefficients c;
    c.taps = static_cast<std::size_t>(std::ceil(support)) * 2 + 1;
    c.first.resize(out_size);
    c.count.resize(out_size);
    c.weights.assign(out_size * c.taps, 0);
    std::vector<double> k(c.taps);
    for (std::size_t xx = 0; xx < out_size; ++xx) {
        const double center = (static_cast<double>(xx) + 0.5) * scale;
        const double ss = 1.0 / filterscale;
        const int xmin = std::max(static_cast<int>(center - support + 0.5), 0);
        const int xmax = std::min(static_cast<int>(center + support + 0.5), static_cast<int>(in_size)) - xmin;
        double ww = 0.0;
        for (int x = 0; x < xmax; ++x) {
            k[x] = filter_weight(f, (x + xmin - center + 0.5) * ss);
            ww += k[x];
        }
        for (int x = 0; x < xmax; ++x) {
            const double w = ww != 0.0 ? k[x] / ww : k[x];
            const double scaled = w * (1 << precision_bits);
            c.weights[xx * c.taps + x] = static_cast<std::int32_t>(w < 0 ? -0.5 + scaled : 0.5 + scaled);
        }
        c.first[xx] = static_cast<std::size_t>(xmin);
        c.count[xx] = static_cast<std::size_t>(xmax);
    }
    return c;
}

inline std::uint8_t clip8(std::int32_t accumulator) {
    if (accumulator < 0) return 0;
    const std::int32_t v = accumulator >> precision_bits;
    return static_cast<std::uint8_t>(v > 255 ? 255 : v);
}

// Rows [row_begin, row_begin + out.height) of `in`, resampled along x to out.width.
inline void resample_horizontal(const io::rgb_image& in, std::size_t row_begin, const resample_coefficients& c,
                                io::rgb_image& out) {
    for (std::size_t yy = 0; yy < out.height; ++yy) {
        const std::uint8_t* src = in.pixels.data() + (row_begin + yy) * in.width * 3;
        std::uint8_t* dst = out.pixels.data() + yy * out.width * 3;
        for (std::size_t xx = 0; xx < out.width; ++xx) {
            const std::int32_t* k = &c.weights[xx * c.taps];
            const std::uint8_t* p = src + c.first[xx] * 3;
            std::int32_t s0 = 1 << (precision_bits - 1), s1 = s0, s2 = s0;
            for (std::size_t x = 0; x < c.count[xx]; ++x, p += 3) {
                s0 += p[0] * k[x];
                s1 += p[1] * k[x];
                s2 += p[2] * k[x];
            }
            dst[xx * 3 + 0] = clip8(s0);
            dst[xx * 3 + 1] = clip8(s1);
            dst[xx * 3 + 2] = clip8(s2);
        }
    }
}

// `in` resampled along y to out.height; c.first is relative to in's first row plus `row_offset`.
inline void resample_vertical(const io::rgb_image& in, std::size_t row_offset, const resample_coefficients& c,
                              io::rgb_image& out) {
    const std::size_t stride = in.width * 3;
    for (std::size_t yy = 0; yy < out.height; ++yy) {
        const std::int32_t* k = &c.weights[yy * c.taps];
        const std::uint8_t* src = in.pixels.data() + (c.first[yy] - row_offset) * stride;
        std::uint8_t* dst = out.pixels.data() + yy * stride;
        for (std::size_t i = 0; i < stride; ++i) {
            std::int32_t s = 1 << (precision_bits - 1);
            for (std::size_t y = 0; y < c.count[yy]; ++y) s += src[y * stride + i] * k[y];
            dst[i] = clip8(s);
        }
    }
}

}  // namespace detail

// PIL's Image.resize((width, height), resample) of an RGB image, bit for bit.
inline io::rgb_image resize(const io::rgb_image& image, std::size_t height, std::size_t width, pil_resampling resample) {
    if (height == 0 || width == 0 || image.height == 0 || image.width == 0)
        fail<input_error>("resize: expected non-empty sizes, got ", image.height, "x", image.width, " -> ", height, "x",
                          width);
    const bool need_horizontal = width != image.width;
    const bool need_vertical = height != image.height;
    if (!need_horizontal && !need_vertical) return image;

    const auto vertical = detail::precompute_coefficients(image.height, height, resample);
    if (!need_horizontal) {
        io::rgb_image out{height, width, std::vector<std::uint8_t>(height * width * 3)};
        detail::resample_vertical(image, 0, vertical, out);
        return out;
    }
    // Only the rows the vertical pass will read go through the horizontal pass.
    const std::size_t row_begin = vertical.first.front();
    const std::size_t row_end = vertical.first.back() + vertical.count.back();
    const auto horizontal = detail::precompute_coefficients(image.width, width, resample);
    io::rgb_image temp{row_end - row_begin, width, std::vector<std::uint8_t>((row_end - row_begin) * width * 3)};
    detail::resample_horizontal(image, row_begin, horizontal, temp);
    if (!need_vertical) return temp;
    io::rgb_image out{height, width, std::vector<std::uint8_t>(height * width * 3)};
    detail::resample_vertical(temp, row_begin, vertical, out);
    return out;
}

// transformers image_transforms.center_crop: offsets floor((size - crop) / 2);
// where the crop reaches past the image, HF pads with zeros, and so do we.
inline io::rgb_image center_crop(const io::rgb_image& image, std::size_t height, std::size_t width) {
    auto floor_half = [](std::int64_t d) { return d >= 0 ? d / 2 : -((-d + 1) / 2); };
    const std::int64_t top = floor_half(static_cast<std::int64_t>(image.height) - static_cast<std::int64_t>(height));
    const std::int64_t left = floor_half(static_cast<std::int64_t>(image.width) - static_cast<std::int64_t>(width));
    io::rgb_image out{height, width, std::vector<std::uint8_t>(height * width * 3, 0)};
    for (std::size_t i = 0; i < height; ++i) {
        const std::int64_t y = top + static_cast<std::int64_t>(i);
        if (y < 0 || y >= static_cast<std::int64_t>(image.height)) continue;
        // Columns of the source that land inside the crop.
        const std::int64_t x0 = std::max<std::int64_t>(left, 0);
        const std::int64_t x1 = std::min<std::int64_t>(left + static_cast<std::int64_t>(width),
                                                       static_cast<std::int64_t>(image.width));
        if (x1 <= x0) continue;
        const std::uint8_t* src = image.pixels.data() + (static_cast<std::size_t>(y) * image.width + x0) * 3;
        std::uint8_t* dst = out.pixels.data() + (i * width + static_cast<std::size_t>(x0 - left)) * 3;
        std::copy(src, src + (x1 - x0) * 3, dst);
    }
    return out;
}

// Const after construction: one processor serves many threads.
class clip_image_processor {
public:
    explicit clip_image_processor(clip_image_processor_config config = {}) : config_(std::move(config)) {
        config_.validate("clip_image_processor");
        // The value of each channel byte after rescale and normalise: HF rescales in
        // float64 and casts to float32, then normalises in float32.
        for (std::size_t c = 0; c < 3; ++c) {
            const float mean = static_cast<float>(config_.image_mean[c]);
            const float stdev = static_cast<float>(config_.image_std[c]);
            for (int v = 0; v < 256; ++v) {
                float x = config_.do_rescale ? static_cast<float>(v * config_.rescale_factor) : static_cast<float>(v);
                if (config_.do_normalize) x = (x - mean) / stdev;
                lookup_[c][v] = x;
            }
        }
    }

    static clip_image_processor from_pretrained(const std::filesystem::path& directory) {
        return clip_image_processor(clip_image_processor_config::from_pretrained(directory));
    }

    const clip_image_processor_config& config() const { return config_; }

    // Limits to decode an image with before preprocessing it: image_limits' own, and the
    // resize checked from the header, so that a long thin image whose resize would exceed
    // max_pixels is refused before it is decoded (io::read_image(path, p.image_limits())).
    io::image_limits image_limits() const {
        io::image_limits limits;
        limits.check_size = [config = config_](std::size_t height, std::size_t width, const std::string& name) {
            if (config.do_resize) resize_target(config, height, width, "image '" + name + "'");
        };
        return limits;
    }

    // One decoded RGB image -> pixel_values [3, height, width].
    tensor<3> preprocess(const io::rgb_image& image) const {
        if (image.height == 0 || image.width == 0 || image.pixels.size() != image.height * image.width * 3)
            fail<input_error>("clip_image_processor: expected a non-empty RGB image with height*width*3 bytes, got ",
                              image.height, "x", image.width, " with ", image.pixels.size(), " bytes");
        io::rgb_image work = prepare(image);
        tensor<3> out = tensor<3>::from_shape({3, work.height, work.width});  // [3, height, width]
        const std::size_t n = work.height * work.width;
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t c = 0; c < 3; ++c) out.data()[c * n + i] = lookup_[c][work.pixels[i * 3 + c]];
        return out;
    }

    // A batch -> pixel_values [batch, 3, height, width]; the images must come out
    // the same size (always the case with do_center_crop).
    tensor<4> preprocess(const std::vector<io::rgb_image>& images) const {
        if (images.empty()) fail<input_error>("clip_image_processor: expected at least one image, got an empty batch");
        tensor<4> out;
        for (std::size_t b = 0; b < images.size(); ++b) {
            tensor<3> one = preprocess(images[b]);  // [3, height, width]
            if (b == 0) out = tensor<4>::from_shape({images.size(), 3, one.shape(1), one.shape(2)});
            if (one.shape(1) != out.shape(2) || one.shape(2) != out.shape(3))
                fail<input_error>("clip_image_processor: image ", b, " becomes ", one.shape(1), "x", one.shape(2),
                                  " but image 0 became ", out.shape(2), "x", out.shape(3),
                                  "; a batch needs one size (enable do_center_crop)");
            std::copy(one.data(), one.data() + one.size(), out.data() + b * one.size());
        }
        return out;
    }

private:
    // Resize and crop, still uint8 as in HF (PIL works on uint8, the crop on the array).
    io::rgb_image prepare(const io::rgb_image& image) const {
        io::rgb_image out;
        if (config_.do_resize) {
            const auto [height, width] = resize_target(config_, image.height, image.width, "clip_image_processor");
            out = resize(image, height, width, config_.resample);
        } else {
            out = image;
        }
        if (config_.do_center_crop)
            out = center_crop(out, static_cast<std::size_t>(config_.crop_size.height),
                              static_cast<std::size_t>(config_.crop_size.width));
        return out;
    }

    // The resized size of a height x width image; input_error when a very long image would
    // resize to more pixels than an image may have (from the sizes alone: before decoding
    // through image_limits(), before allocating in preprocess).
    static std::pair<std::size_t, std::size_t> resize_target(const clip_image_processor_config& config, std::size_t height,
                                                             std::size_t width, const std::string& where) {
        if (config.size.shortest_edge <= 0)
            return {static_cast<std::size_t>(config.size.height), static_cast<std::size_t>(config.size.width)};
        const auto edge = static_cast<std::size_t>(config.size.shortest_edge);
        const std::size_t max_pixels = io::image_limits{}.max_pixels;
        const auto target = get_resize_output_image_size(height, width, edge);
        if (target.first > max_pixels / target.second)
            fail<input_error>(where, ": a ", height, "x", width, " image resized to shortest edge ", edge, " would be ",
                              target.first, "x", target.second, ", more than ", max_pixels,
                              " pixels (image_limits::max_pixels)");
        return target;
    }

    clip_image_processor_config config_;
    std::array<std::array<float, 256>, 3> lookup_{};
};

}  // namespace mmt::preprocess
