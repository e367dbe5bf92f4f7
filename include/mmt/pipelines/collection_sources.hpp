// The inputs of a collection that pipelines/embed_collection.hpp embeds, read one at
// a time in a fixed order, so an interrupted or split run finds each input at the
// same position again:
//   image_folder    every image file under a folder, in sorted relative-path order;
//   image_manifest  a JSONL file of {"id", "path"} objects, in file order;
//   text_lines      a text file, one text per line.
// Each is read twice: once when opened, to count (and check) the inputs, then as
// the run takes them. Only the input in hand is held, never the whole list, except
// that a folder holds the names of the folders it is walking through.
#pragma once

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/io/json.hpp"

namespace mmt::pipelines {

struct collection_input {
    std::string id;    // names the input in the index's manifest
    std::string path;  // the file read: the image, or the text file
    std::string text;  // text_lines only: the text itself
};

class collection_source {
public:
    virtual ~collection_source() = default;
    // The index's modality (embedding_index_format.hpp): "image" or "text".
    virtual const char* modality() const = 0;
    // How many inputs next() gives, counted when the source was opened.
    virtual std::size_t size() const = 0;
    // The next input in order; nullopt after the last.
    virtual std::optional<collection_input> next() = 0;
};

// Every regular file under `root` (symbolic links to files included, linked folders
// not followed, so a cycle cannot arise), walked depth first with each folder's
// entries in byte order of their names: the order of the relative paths compared
// component by component. A file that is not an image stays an input; its decoding
// fails and the run records why. id: the path relative to root ("a/b.jpg");
// path: root / id.
class image_folder final : public collection_source {
public:
    explicit image_folder(std::filesystem::path root) : root_(std::move(root)) {
        std::error_code ec;
        if (!std::filesystem::is_directory(root_, ec))
            fail<io_error>("image folder '", root_.string(), "': not a folder", ec ? ": " + ec.message() : std::string());
        for (walk counter(root_); counter.next();) ++size_;
        walk_.emplace(root_);
    }

    const char* modality() const override { return "image"; }
    std::size_t size() const override { return size_; }

    std::optional<collection_input> next() override {
        std::optional<std::filesystem::path> relative = walk_->next();
        if (!relative) return std::nullopt;
        return collection_input{relative->generic_string(), (root_ / *relative).string(), {}};
    }

private:
    // Depth first through the folders, each listed and sorted when entered.
    class walk {
    public:
        explicit walk(const std::filesystem::path& root) : root_(root) { enter({}); }

        // The next file's path relative to the root.
        std::optional<std::filesystem::path> next() {
            while (!levels_.empty()) {
                level& top = levels_.back();
                if (top.next == top.names.size()) {
                    levels_.pop_back();
                    continue;
                }
                const std::filesystem::path relative = top.folder / top.names[top.next++];
                const std::filesystem::path full = root_ / relative;
                std::error_code ec;
                const auto own = std::filesystem::symlink_status(full, ec);
                if (std::filesystem::is_directory(own)) {
                    enter(relative);
                } else if (std::filesystem::is_regular_file(std::filesystem::status(full, ec))) {
                    return relative;
                }
            }
            return std::nullopt;
        }

    private:
        struct level {
            std::filesystem::path folder;  // relative to the root
            std::vector<std::string> names;
            std::size_t next = 0;
        };

        void enter(const std::filesystem::path& relative) {
            const std::filesystem::path full = root_ / relative;
            std::error_code ec;
            level l{relative, {}, 0};
            for (std::filesystem::directory_iterator it(full, ec), end; !ec && it != end; it.increment(ec))
                l.names.push_back(it->path().filename().string());
            if (ec) fail<io_error>("image folder '", root_.string(), "': cannot list '", full.string(), "': ", ec.message());
            std::sort(l.names.begin(), l.names.end());
            levels_.push_back(std::move(l));
        }

        std::filesystem::path root_;
        std::vector<level> levels_;
    };

    std::filesystem::path root_;
    std::size_t size_ = 0;
    std::optional<walk> walk_;
};

namespace detail {
// A text file's lines, numbered from 1, without their line break ("\n" or "\r\n").
class numbered_lines {
public:
    explicit numbered_lines(const std::filesystem::path& path) : path_(path), in_(path, std::ios::binary) {
        std::error_code ec;
        if (std::filesystem::is_directory(path, ec) || !in_) fail<io_error>("cannot open '", path.string(), "'");
    }

    bool next(std::string& line) {
        if (!std::getline(in_, line)) {
            if (in_.bad()) fail<io_error>("cannot read '", path_.string(), "' after line ", number_);
            return false;
        }
        if (!line.empty() && line.back() == '\r') line.pop_back();
        ++number_;
        return true;
    }

    std::size_t number() const { return number_; }

private:
    std::filesystem::path path_;
    std::ifstream in_;
    std::size_t number_ = 0;
};
}  // namespace detail

// A JSONL file with one object {"id": "...", "path": "..."} per line (other keys are
// ignored, blank lines skipped); a relative path is relative to the manifest's folder.
// Every line is checked when the manifest is opened: a malformed one is a
// format_error naming its line, before anything is embedded. path: the file opened.
class image_manifest final : public collection_source {
public:
    explicit image_manifest(std::filesystem::path file) : file_(std::move(file)) {
        for (detail::numbered_lines counter(file_); read(counter);) ++size_;
        lines_.emplace(file_);
    }

    const char* modality() const override { return "image"; }
    std::size_t size() const override { return size_; }
    std::optional<collection_input> next() override { return read(*lines_); }

private:
    std::optional<collection_input> read(detail::numbered_lines& lines) const {
        std::string line;
        while (lines.next(line)) {
            if (line.find_first_not_of(" \t") == std::string::npos) continue;
            const std::string where = file_.string() + " line " + std::to_string(lines.number());
            const io::json entry = io::parse_json(line, where);
            if (!entry.is_object() || !entry.contains("id") || !entry["id"].is_string() || !entry.contains("path") ||
                !entry["path"].is_string())
                fail<format_error>(where, ": expected an object with the strings \"id\" and \"path\", got ", entry.dump());
            const std::filesystem::path path = entry["path"].get<std::string>();
            return collection_input{entry["id"].get<std::string>(), (file_.parent_path() / path).string(), {}};
        }
        return std::nullopt;
    }

    std::filesystem::path file_;
    std::size_t size_ = 0;
    std::optional<detail::numbered_lines> lines_;
};

// One text per line of a text file, blank lines included (a line is an input). id: the
// line number from 1 ("17"); path: the file.
class text_lines final : public collection_source {
public:
    explicit text_lines(std::filesystem::path file) : file_(std::move(file)) {
        std::string line;
        for (detail::numbered_lines counter(file_); counter.next(line);) ++size_;
        lines_.emplace(file_);
    }

    const char* modality() const override { return "text"; }
    std::size_t size() const override { return size_; }

    std::optional<collection_input> next() override {
        collection_input input;
        if (!lines_->next(input.text)) return std::nullopt;
        input.id = std::to_string(lines_->number());
        input.path = file_.string();
        return input;
    }

private:
    std::filesystem::path file_;
    std::size_t size_ = 0;
    std::optional<detail::numbered_lines> lines_;
};

}  // namespace mmt::pipelines
