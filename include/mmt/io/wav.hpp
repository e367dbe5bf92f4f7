// WAV (RIFF/WAVE) reading and writing. The reader takes what soundfile /
// torchaudio read for speech models: PCM 8 (unsigned), 16, 24 and 32 bit,
// IEEE float 32 and 64, plain or WAVE_FORMAT_EXTENSIBLE, any channel count and
// sample rate, chunks in any order, FFmpeg's streamed sizes (0xFFFFFFFF: to the end
// of the file). Samples are scaled as libsndfile does
// (int16 / 32768, int24 / 2^23, int32 / 2^31, (uint8 - 128) / 128) and the
// channels are averaged into one mono signal, the input wav2vec2 expects.
// Compressed encodings (ADPCM, A-law, MP3...) are refused by name. read_wav
// decodes a whole file; wav_reader decodes a long one piece by piece.
//
// Written by hand rather than through libsndfile: the format is small, this keeps
// the library header-only without a link dependency, and it lets every refusal
// say exactly what was found and bounds allocation before reading.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <sys/mman.h>
#include <unistd.h>

#include "mmt/core/error.hpp"
#include "mmt/io/mapped_file.hpp"

namespace mmt::io {

// Decoded audio: `samples` is mono (channels averaged), in [-1, 1] for PCM.
struct wav_audio {
    int sample_rate = 0;
    std::size_t channels = 0;  // channel count of the file, before the mix-down
    std::vector<float> samples;

    double duration_seconds() const {
        return sample_rate > 0 ? static_cast<double>(samples.size()) / sample_rate : 0.0;
    }
};

struct wav_read_options {
    // Longer files are an input_error, checked from the header before any allocation.
    double max_duration_seconds = 2 * 3600.0;
};

enum class wav_encoding { pcm16, float32 };

namespace detail {

inline std::uint16_t wav_u16(const unsigned char* p) { return static_cast<std::uint16_t>(p[0] | (p[1] << 8)); }
inline std::uint32_t wav_u32(const unsigned char* p) {
    return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
           (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}

inline std::string wav_fourcc(const unsigned char* p) {
    std::string s;
    for (int i = 0; i < 4; ++i) {
        unsigned char c = p[i];
        if (c >= 32 && c < 127) {
            s += static_cast<char>(c);
        } else {
            static const char* hex = "0123456789abcdef";
            s += "\\x";
            s += hex[c >> 4];
            s += hex[c & 15];
        }
    }
    return "'" + s + "'";
}

inline std::string wav_hex16(unsigned v) {
    static const char* hex = "0123456789ABCDEF";
    std::string s = "0x";
    for (int shift = 12; shift >= 0; shift -= 4) s += hex[(v >> shift) & 15];
    return s;
}

// Names of the registered WAVE format tags one meets in the wild, for the error.
inline std::string wav_format_name(unsigned tag) {
    switch (tag) {
        case 0x0002: return "MS ADPCM";
        case 0x0006: return "A-law";
        case 0x0007: return "mu-law";
        case 0x0011: return "IMA ADPCM";
        case 0x0016: return "ITU G.723 ADPCM";
        case 0x0031: return "GSM 6.10";
        case 0x0040: return "ITU G.721 ADPCM";
        case 0x0050: return "MPEG";
        case 0x0055: return "MP3";
        case 0x00FF: return "AAC";
        case 0x0161: return "WMA";
        case 0x2000: return "AC-3";
        case 0xF1AC: return "FLAC";
        default: return "unknown";
    }
}

inline constexpr unsigned wav_format_pcm = 0x0001;
inline constexpr unsigned wav_format_float = 0x0003;
inline constexpr unsigned wav_format_extensible = 0xFFFE;

struct wav_format {
    unsigned tag = 0;  // pcm or float after resolving EXTENSIBLE
    std::size_t channels = 0;
    std::uint32_t sample_rate = 0;
    std::size_t bytes_per_sample = 0;  // container size of one sample of one channel
    std::size_t block_align = 0;       // bytes per frame (all channels)
};

// Parses the "fmt " chunk body; `where` names the file in errors.
inline wav_format parse_wav_fmt(const unsigned char* p, std::size_t size, const std::string& where) {
    if (size < 16) fail<format_error>(where, ": fmt chunk too short; expected at least 16 bytes, got ", size);
    wav_format f;
    f.tag = wav_u16(p);
    f.channels = wav_u16(p + 2);
    f.sample_rate = wav_u32(p + 4);
    f.block_align = wav_u16(p + 12);
    unsigned bits = wav_u16(p + 14);
    if (f.tag == wav_format_extensible) {
        if (size < 40 || wav_u16(p + 16) < 22)
            fail<format_error>(where, ": WAVE_FORMAT_EXTENSIBLE fmt chunk too short; expected 40 bytes with cbSize 22, got ",
                               size, " bytes");
        unsigned valid_bits = wav_u16(p + 18);
        // KSDATAFORMAT_SUBTYPE_*: the format tag, then the fixed tail 0000-0010-8000-00AA00389B71.
        static const unsigned char guid_tail[12] = {0x00, 0x00, 0x00, 0x00, 0x10, 0x00,
                                                    0x80, 0x00, 0x00, 0xAA, 0x00, 0x38};
        const unsigned char* guid = p + 24;
        if (std::memcmp(guid + 2, guid_tail, sizeof guid_tail) != 0 || guid[14] != 0x9B || guid[15] != 0x71)
            fail<format_error>(where, ": WAVE_FORMAT_EXTENSIBLE sub-format GUID is not a KSDATAFORMAT_SUBTYPE; expected "
                                      "xxxxxxxx-0000-0010-8000-00AA00389B71, got first bytes ",
                               wav_fourcc(guid));
        f.tag = wav_u16(guid);
        if (valid_bits > bits)
            fail<format_error>(where, ": valid bits per sample exceed the container; expected at most ", bits, ", got ",
                               valid_bits);
    }
    if (f.tag != wav_format_pcm && f.tag != wav_format_float)
        fail<format_error>(where, ": compressed or unsupported WAVE format ", wav_hex16(f.tag), " (",
                           wav_format_name(f.tag), "); expected PCM (0x0001) or IEEE float (0x0003)");
    if (f.channels == 0) fail<format_error>(where, ": fmt chunk declares 0 channels; expected at least 1");
    if (f.sample_rate == 0) fail<format_error>(where, ": fmt chunk declares a sample rate of 0 Hz; expected > 0");
    if (f.sample_rate > 0x7FFFFFFFu)
        fail<format_error>(where, ": sample rate out of range; expected < 2^31 Hz, got ", f.sample_rate);
    f.bytes_per_sample = (bits + 7) / 8;
    bool pcm_ok = f.tag == wav_format_pcm && bits >= 1 && bits <= 32;
    bool float_ok = f.tag == wav_format_float && (bits == 32 || bits == 64);
    if (!pcm_ok && !float_ok)
        fail<format_error>(where, ": unsupported bits per sample for ", f.tag == wav_format_pcm ? "PCM" : "IEEE float",
                           "; expected ", f.tag == wav_format_pcm ? "8, 16, 24 or 32" : "32 or 64", ", got ", bits);
    if (f.block_align != f.channels * f.bytes_per_sample)
        fail<format_error>(where, ": block align does not match ", f.channels, " channels of ", f.bytes_per_sample,
                           " bytes; expected ", f.channels * f.bytes_per_sample, ", got ", f.block_align);
    return f;
}

// One sample as float, scaled as libsndfile's sf_read_float. Narrower valid bits
// sit left-justified in their container, so the container scale is the right one.
inline double wav_sample(const unsigned char* p, const wav_format& f) {
    if (f.tag == wav_format_float) {
        if (f.bytes_per_sample == 4) {
            std::uint32_t u = wav_u32(p);
            float v;
            std::memcpy(&v, &u, 4);
            return v;
        }
        std::uint64_t u = static_cast<std::uint64_t>(wav_u32(p)) | (static_cast<std::uint64_t>(wav_u32(p + 4)) << 32);
        double v;
        std::memcpy(&v, &u, 8);
        return v;
    }
    switch (f.bytes_per_sample) {
        case 1: return (static_cast<int>(p[0]) - 128) / 128.0;  // 8-bit WAV is unsigned
        case 2: return static_cast<std::int16_t>(wav_u16(p)) / 32768.0;
        case 3: {  // placed in the top 24 bits of an int32, which also sign-extends it
            std::uint32_t u = static_cast<std::uint32_t>(p[0]) << 8 | static_cast<std::uint32_t>(p[1]) << 16 |
                              static_cast<std::uint32_t>(p[2]) << 24;
            return static_cast<std::int32_t>(u) / 2147483648.0;
        }
        default: return static_cast<std::int32_t>(wav_u32(p)) / 2147483648.0;
    }
}

}  // namespace detail

namespace detail {

// Where a WAV file's samples are and how they are stored, from its chunks.
struct wav_layout {
    wav_format format;
    const unsigned char* samples = nullptr;  // first byte of the data chunk's body
    std::size_t frames = 0;                  // whole frames (one sample per channel) in it
};

inline wav_layout parse_wav_layout(const unsigned char* data, std::size_t size, const std::string& where,
                                   const wav_read_options& options) {
    if (size < 12 || std::memcmp(data, "RIFF", 4) != 0 || std::memcmp(data + 8, "WAVE", 4) != 0) {
        if (size >= 4 && std::memcmp(data, "RIFX", 4) == 0)
            fail<format_error>(where, ": big-endian RIFX files are not supported; expected 'RIFF'");
        if (size >= 4 && std::memcmp(data, "RF64", 4) == 0)
            fail<format_error>(where, ": RF64 (64-bit WAV) is not supported; expected 'RIFF'");
        fail<format_error>(where, ": not a RIFF/WAVE file; expected 'RIFF' ... 'WAVE', got ",
                           size >= 12 ? wav_fourcc(data) + " ... " + wav_fourcc(data + 8)
                                      : "only " + std::to_string(size) + " bytes");
    }
    // Trust the RIFF size only when it fits the file: streaming writers leave it 0 or too big.
    std::size_t riff_end = static_cast<std::size_t>(wav_u32(data + 4)) + 8;
    std::size_t end = riff_end >= 12 && riff_end <= size ? riff_end : size;
    // FFmpeg writing to a pipe leaves this size in the data chunk (and the RIFF header),
    // which FFmpeg, sox and libsndfile read as "to the end of the file".
    constexpr std::size_t streamed_size = 0xFFFFFFFF;

    const unsigned char* fmt = nullptr;
    std::size_t fmt_size = 0;
    const unsigned char* samples = nullptr;
    std::size_t data_size = 0;
    bool streamed = false;
    for (std::size_t at = 12; at + 8 <= end && !(fmt && samples);) {
        std::size_t chunk_size = wav_u32(data + at + 4);
        std::size_t body = at + 8;
        if (std::memcmp(data + at, "fmt ", 4) == 0 && !fmt) {
            if (chunk_size > size - body)
                fail<format_error>(where, ": truncated fmt chunk; declares ", chunk_size, " bytes, only ", size - body,
                                   " remain");
            fmt = data + body;
            fmt_size = chunk_size;
        } else if (std::memcmp(data + at, "data", 4) == 0 && !samples) {
            streamed = chunk_size == streamed_size && size - body < streamed_size;
            if (streamed) chunk_size = size - body;
            if (chunk_size > size - body)
                fail<format_error>(where, ": truncated data chunk; declares ", chunk_size, " bytes, only ", size - body,
                                   " remain in the file");
            samples = data + body;
            data_size = chunk_size;
        }
        if (chunk_size > end - body) break;  // a broken trailing chunk ends the scan
        at = body + chunk_size + (chunk_size & 1);  // chunks are padded to an even size
    }
    if ((!fmt || !samples) && end < size)
        fail<format_error>(where, ": RIFF size ", wav_u32(data + 4), " ends the RIFF chunk at byte ", end, " of ", size,
                           " with no '", fmt ? "data" : "fmt ", "' chunk in it; expected a RIFF size of ", size - 8,
                           " (the file's bytes after the first 8): a wrong RIFF size?");
    if (!fmt) fail<format_error>(where, ": missing fmt chunk; expected a 'fmt ' chunk before the end of the file");
    if (!samples) fail<format_error>(where, ": missing data chunk; expected a 'data' chunk before the end of the file");

    wav_layout layout{parse_wav_fmt(fmt, fmt_size, where), samples, 0};
    const wav_format& f = layout.format;
    if (streamed) data_size -= data_size % f.block_align;  // a pipe may end within a frame
    if (data_size % f.block_align != 0)
        fail<format_error>(where, ": truncated data chunk; expected a multiple of ", f.block_align,
                           " bytes (whole frames), got ", data_size);
    layout.frames = data_size / f.block_align;
    double duration = static_cast<double>(layout.frames) / f.sample_rate;
    if (duration > options.max_duration_seconds)
        fail<input_error>(where, ": audio too long; expected at most ", options.max_duration_seconds, " s, got ",
                          duration, " s (", layout.frames, " frames at ", f.sample_rate, " Hz)");
    return layout;
}

// Frames [first, first + count) of `layout` mixed down to mono into out[0, count).
inline void decode_wav_frames(const wav_layout& layout, std::size_t first, std::size_t count, float* out,
                              const std::string& where) {
    const wav_format& f = layout.format;
    const unsigned char* p = layout.samples + first * f.block_align;
    for (std::size_t i = first; i < first + count; ++i) {
        double sum = 0;
        for (std::size_t c = 0; c < f.channels; ++c, p += f.bytes_per_sample) {
            double v = wav_sample(p, f);
            if (!std::isfinite(v) || std::fabs(v) > std::numeric_limits<float>::max())
                fail<input_error>(where, ": sample ", i, " of channel ", c, " is ", v,
                                  "; expected finite float32 samples");
            sum += v;
        }
        // A float64 file is rounded to float32 here, as torch does when it casts.
        out[i - first] = static_cast<float>(f.channels == 1 ? sum : sum / static_cast<double>(f.channels));
    }
}

}  // namespace detail

// Decodes a whole WAV file held in memory; `where` names it in error messages.
inline wav_audio decode_wav(const unsigned char* data, std::size_t size, const std::string& where,
                            const wav_read_options& options = {}) {
    const detail::wav_layout layout = detail::parse_wav_layout(data, size, where, options);
    wav_audio audio;
    audio.sample_rate = static_cast<int>(layout.format.sample_rate);
    audio.channels = layout.format.channels;
    audio.samples.resize(layout.frames);
    detail::decode_wav_frames(layout, 0, layout.frames, audio.samples.data(), where);
    return audio;
}

// Reads a WAV file (memory-mapped, so an hour of audio is not copied twice).
inline wav_audio read_wav(const std::filesystem::path& path, const wav_read_options& options = {}) {
    mapped_file file(path);
    return decode_wav(file.data(), file.size(), "read_wav: '" + path.string() + "'", options);
}

// A WAV file read piece by piece: the header is checked when it is opened, samples
// are decoded (and checked) only when asked for, and the mapped pages before the
// last piece read are handed back to the kernel, so reading an hour of audio front
// to back keeps only a piece of it in memory.
class wav_reader {
public:
    explicit wav_reader(const std::filesystem::path& path, const wav_read_options& options = {})
        : file_(path), where_("read_wav: '" + path.string() + "'"),
          layout_(detail::parse_wav_layout(file_.data(), file_.size(), where_, options)) {}

    int sample_rate() const { return static_cast<int>(layout_.format.sample_rate); }
    std::size_t channels() const { return layout_.format.channels; }
    std::size_t frames() const { return layout_.frames; }

    // Mono samples [first, first + count) (channels averaged, as read_wav).
    std::vector<float> read(std::size_t first, std::size_t count) {
        if (first > frames() || count > frames() - first)
            fail<input_error>(where_, ": samples [", first, ", ", first + count, ") are outside the file's ", frames(), " frames");
        std::vector<float> out(count);
        detail::decode_wav_frames(layout_, first, count, out.data(), where_);
        release_before(layout_.samples + first * layout_.format.block_align);
        return out;
    }

private:
    // Drops the mapped pages wholly before `p` from memory (they are re-read from the file
    // if touched again), so a long file's pages do not pile up in the resident set.
    void release_before(const unsigned char* p) {
        const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
        const auto base = reinterpret_cast<std::uintptr_t>(file_.data());
        const std::uintptr_t end = (reinterpret_cast<std::uintptr_t>(p) - base) / page * page;
        if (end > released_) {
            ::madvise(const_cast<unsigned char*>(file_.data()) + released_, end - released_, MADV_DONTNEED);
            released_ = end;
        }
    }

    mapped_file file_;
    std::string where_;
    detail::wav_layout layout_;
    std::uintptr_t released_ = 0;  // bytes from the start of the mapping already released
};

// A mono WAV file as bytes: 16-bit PCM (samples clipped to [-1, 1) and rounded,
// the inverse of the reader's / 32768) or 32-bit IEEE float.
inline std::string encode_wav(const std::vector<float>& samples, int sample_rate, wav_encoding encoding = wav_encoding::pcm16) {
    const std::string where = "encode_wav";
    if (sample_rate <= 0) fail<input_error>(where, ": sample rate must be positive, got ", sample_rate);
    bool is_float = encoding == wav_encoding::float32;
    std::size_t bytes = is_float ? 4 : 2;
    std::size_t fmt_size = is_float ? 18 : 16;  // IEEE float carries cbSize and a fact chunk
    std::size_t header = 12 + 8 + fmt_size + (is_float ? 12 : 0) + 8;
    if (samples.size() > (0xFFFFFFFFull - header) / bytes)
        fail<input_error>(where, ": too many samples for a RIFF file; expected at most ", (0xFFFFFFFFull - header) / bytes,
                          ", got ", samples.size());
    std::size_t data_size = samples.size() * bytes;

    std::string out;
    out.reserve(header + data_size);
    auto u16 = [&](unsigned v) {
        out += static_cast<char>(v & 0xFF);
        out += static_cast<char>((v >> 8) & 0xFF);
    };
    auto u32 = [&](std::uint32_t v) {
        u16(v & 0xFFFF);
        u16(v >> 16);
    };
    out += "RIFF";
    u32(static_cast<std::uint32_t>(header - 8 + data_size));
    out += "WAVEfmt ";
    u32(static_cast<std::uint32_t>(fmt_size));
    u16(is_float ? detail::wav_format_float : detail::wav_format_pcm);
    u16(1);
    u32(static_cast<std::uint32_t>(sample_rate));
    u32(static_cast<std::uint32_t>(sample_rate * bytes));
    u16(static_cast<unsigned>(bytes));
    u16(static_cast<unsigned>(bytes * 8));
    if (is_float) {
        u16(0);
        out += "fact";
        u32(4);
        u32(static_cast<std::uint32_t>(samples.size()));
    }
    out += "data";
    u32(static_cast<std::uint32_t>(data_size));
    for (std::size_t i = 0; i < samples.size(); ++i) {
        float v = samples[i];
        if (!std::isfinite(v)) fail<input_error>(where, ": sample ", i, " is ", v, "; expected a finite value");
        if (is_float) {
            std::uint32_t u;
            std::memcpy(&u, &v, 4);
            u32(u);
        } else {
            double scaled = std::nearbyint(static_cast<double>(v) * 32768.0);
            scaled = scaled < -32768.0 ? -32768.0 : (scaled > 32767.0 ? 32767.0 : scaled);
            u16(static_cast<std::uint16_t>(static_cast<std::int16_t>(scaled)));
        }
    }
    return out;
}

inline void write_wav(const std::filesystem::path& path, const std::vector<float>& samples, int sample_rate,
                      wav_encoding encoding = wav_encoding::pcm16) {
    std::string bytes = encode_wav(samples, sample_rate, encoding);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) fail<io_error>("write_wav: cannot open '", path.string(), "' for writing");
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) fail<io_error>("write_wav: cannot write '", path.string(), "'");
}

}  // namespace mmt::io
