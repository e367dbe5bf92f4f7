// The entries of a zip archive whose members are stored uncompressed, as PyTorch
// writes them, found through the central directory so that each entry's bytes can
// be read in place from the file at their offset.
//
//   [local header 30 B + name + extra, data]...  central directory  [zip64 end record,
//   zip64 locator]  end of central directory (22 B + comment)
//
// Everything is little-endian. Every offset and size is checked against the file
// before it is used: the directory against the end record, each entry's data against
// the start of the directory. Compressed or encrypted entries, archives spanning
// several disks and duplicate names are format_errors.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/io/byte_source.hpp"

namespace mmt::io {

struct zip_entry {
    std::string name;
    std::size_t offset = 0;  // of the data in the file
    std::size_t size = 0;
};

class zip_archive {
public:
    // True when `bytes` start as a zip archive does (a local file header).
    static bool has_signature(const byte_source& bytes) {
        if (bytes.size() < 4) return false;
        unsigned char head[4];
        bytes.read(0, 4, head);
        return le(head, 4) == local_signature;
    }

    explicit zip_archive(std::shared_ptr<const byte_source> file) : file_(std::move(file)) { read_directory(); }

    const byte_source& file() const { return *file_; }
    const std::vector<zip_entry>& entries() const { return entries_; }
    const zip_entry* find(const std::string& name) const {
        auto it = by_name_.find(name);
        return it == by_name_.end() ? nullptr : &entries_[it->second];
    }
    // An entry's bytes, copied.
    std::string read(const zip_entry& entry) const {
        std::string out(entry.size, '\0');
        file_->read(entry.offset, entry.size, out.data());
        return out;
    }

private:
    static constexpr std::uint32_t local_signature = 0x04034b50, central_signature = 0x02014b50,
                                   end_signature = 0x06054b50, end64_signature = 0x06064b50,
                                   locator64_signature = 0x07064b50;
    static constexpr std::size_t end_size = 22, locator64_size = 20, end64_size = 56, central_size = 46, local_size = 30;

    static std::uint64_t le(const unsigned char* p, int n) {
        std::uint64_t v = 0;
        for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
        return v;
    }

    template <class... Parts>
    [[noreturn]] void bad(Parts&&... parts) const {
        fail<format_error>(file_->name().string(), ": zip archive: ", std::forward<Parts>(parts)...);
    }

    void read_directory() {
        const std::size_t size = file_->size();
        if (size < end_size) bad("", size, " bytes, too short for the end of central directory record (22 bytes)");
        // The end record sits in the last 22 + 65535 (its longest comment) bytes.
        const std::size_t tail_size = std::min<std::size_t>(size, end_size + 0xffff);
        std::string tail(tail_size, '\0');
        file_->read(size - tail_size, tail_size, tail.data());
        const auto* t = reinterpret_cast<const unsigned char*>(tail.data());
        std::size_t at = tail_size - end_size + 1;
        bool found = false;
        while (at-- > 0) {
            if (le(t + at, 4) == end_signature && at + end_size + le(t + at + 20, 2) == tail_size) {
                found = true;
                break;
            }
        }
        if (!found) bad("no end of central directory record in the last ", tail_size, " bytes: truncated or not a zip file?");
        const std::size_t end_at = size - tail_size + at;
        const unsigned char* end = t + at;
        std::uint64_t disk = le(end + 4, 2), directory_disk = le(end + 6, 2), count = le(end + 10, 2);
        std::uint64_t directory_size = le(end + 12, 4), directory_at = le(end + 16, 4);
        if (count == 0xffff || directory_size == 0xffffffff || directory_at == 0xffffffff) {
            if (end_at < locator64_size) bad("zip64 archive without its end-record locator");
            unsigned char locator[locator64_size];
            file_->read(end_at - locator64_size, locator64_size, locator);
            if (le(locator, 4) != locator64_signature) bad("zip64 archive without its end-record locator before byte ", end_at);
            const std::uint64_t end64_at = le(locator + 8, 8);
            if (end64_at > end_at - locator64_size || end_at - locator64_size - end64_at < end64_size)
                bad("zip64 end record at byte ", end64_at, " does not lie before its locator at byte ", end_at - locator64_size);
            unsigned char end64[end64_size];
            file_->read(end64_at, end64_size, end64);
            if (le(end64, 4) != end64_signature) bad("no zip64 end record at byte ", end64_at);
            disk = le(end64 + 16, 4);
            directory_disk = le(end64 + 20, 4);
            count = le(end64 + 32, 8);
            directory_size = le(end64 + 40, 8);
            directory_at = le(end64 + 48, 8);
        }
        if (disk != 0 || directory_disk != 0) bad("spans several disks, which is not supported");
        if (directory_at > end_at || directory_size > end_at - directory_at)
            bad("central directory (bytes ", directory_at, " + ", directory_size, ") runs past its end record at byte ", end_at);
        if (count > directory_size / central_size)
            bad("", count, " entries cannot fit in a central directory of ", directory_size, " bytes");
        std::string directory(directory_size, '\0');
        file_->read(directory_at, directory_size, directory.data());
        const auto* d = reinterpret_cast<const unsigned char*>(directory.data());
        std::size_t pos = 0;
        for (std::uint64_t i = 0; i < count; ++i) {
            if (directory_size - pos < central_size || le(d + pos, 4) != central_signature)
                bad("central directory entry ", i, " at byte ", directory_at + pos, " is not a central file header");
            const unsigned char* h = d + pos;
            const std::size_t name_len = le(h + 28, 2), extra_len = le(h + 30, 2), comment_len = le(h + 32, 2);
            if (directory_size - pos - central_size < name_len + extra_len + comment_len)
                bad("central directory entry ", i, " runs past the directory");
            zip_entry e;
            e.name.assign(reinterpret_cast<const char*>(h + central_size), name_len);
            const unsigned flags = unsigned(le(h + 8, 2)), method = unsigned(le(h + 10, 2));
            std::uint64_t compressed = le(h + 20, 4), uncompressed = le(h + 24, 4), local_at = le(h + 42, 4);
            std::uint64_t entry_disk = le(h + 34, 2);
            read_zip64_extra(h + central_size + name_len, extra_len, e.name, uncompressed, compressed, local_at, entry_disk);
            if (flags & 1u) bad("entry '", e.name, "' is encrypted");
            if (method != 0)
                bad("entry '", e.name, "' is compressed (method ", method, method == 8 ? ", deflate" : "",
                    "); PyTorch stores its entries uncompressed: was the archive re-packed by another tool?");
            if (compressed != uncompressed)
                bad("entry '", e.name, "' is stored with ", compressed, " bytes but says it holds ", uncompressed);
            if (entry_disk != 0) bad("entry '", e.name, "' lies on disk ", entry_disk, ", which is not supported");
            e.offset = data_offset(e.name, local_at, directory_at);
            if (uncompressed > directory_at - e.offset)
                bad("entry '", e.name, "' (", uncompressed, " bytes from byte ", e.offset,
                    ") runs into the central directory at byte ", directory_at, ": truncated?");
            e.size = uncompressed;
            if (!by_name_.emplace(e.name, entries_.size()).second) bad("entry '", e.name, "' appears twice");
            entries_.push_back(std::move(e));
            pos += central_size + name_len + extra_len + comment_len;
        }
    }

    // The zip64 extended information (tag 1) holds, in this order, each of the four
    // fields whose 32-bit (or 16-bit) value in the header is all ones.
    void read_zip64_extra(const unsigned char* extra, std::size_t len, const std::string& name, std::uint64_t& uncompressed,
                          std::uint64_t& compressed, std::uint64_t& local_at, std::uint64_t& disk) const {
        for (std::size_t p = 0; p + 4 <= len;) {
            const std::size_t tag = le(extra + p, 2), field_len = le(extra + p + 2, 2);
            if (field_len > len - p - 4) bad("entry '", name, "': extra field ", tag, " runs past its header");
            if (tag == 1) {
                std::size_t q = p + 4;
                const std::size_t stop = q + field_len;
                auto take = [&](std::uint64_t& field, std::uint64_t all_ones, int width) {
                    if (field != all_ones) return;
                    if (stop - q < std::size_t(width)) bad("entry '", name, "': zip64 extra field is too short");
                    field = le(extra + q, width);
                    q += width;
                };
                take(uncompressed, 0xffffffff, 8);
                take(compressed, 0xffffffff, 8);
                take(local_at, 0xffffffff, 8);
                take(disk, 0xffff, 4);
            }
            p += 4 + field_len;
        }
    }

    // Where an entry's data starts: after its local header, whose name and extra field
    // may differ in length from the central directory's (PyTorch pads the local extra
    // field to align the data).
    std::size_t data_offset(const std::string& name, std::uint64_t local_at, std::uint64_t directory_at) const {
        if (local_at > directory_at || directory_at - local_at < local_size)
            bad("entry '", name, "': local header at byte ", local_at, " does not lie before the central directory at byte ",
                directory_at);
        unsigned char local[local_size];
        file_->read(local_at, local_size, local);
        if (le(local, 4) != local_signature) bad("entry '", name, "': no local file header at byte ", local_at);
        const std::uint64_t data_at = local_at + local_size + le(local + 26, 2) + le(local + 28, 2);
        if (data_at > directory_at)
            bad("entry '", name, "': local header at byte ", local_at, " runs into the central directory at byte ", directory_at);
        return data_at;
    }

    std::shared_ptr<const byte_source> file_;
    std::vector<zip_entry> entries_;
    std::map<std::string, std::size_t> by_name_;
};

}  // namespace mmt::io
