// Loading HF tensor names as they are. A weight_loader owns the checkpoint,
// the architecture's table of name drift and the record of what was taken;
// weight_scope is a prefix into it that checks the shape at every lookup.
//
//   io::weight_loader loader(io::checkpoint::open(dir), clip::names());
//   auto layer = loader.root().child("text_model").child("encoder").child("layers").child(0);
//   tensor<2> w = layer.get<2>("self_attn.q_proj.weight", {hidden, hidden});
//   loader.check_all_used();   // a tensor left unused is an error
#pragma once

#include <array>
#include <functional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/core/load_options.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/checkpoint.hpp"

namespace mmt::io {

// One architecture's drift between the names its code asks for and names found in
// checkpoints. Everything here is visible in one table per architecture.
struct name_table {
    // {canonical suffix, stored suffix}: when "x.<canonical>" is absent, "x.<stored>" is tried.
    std::vector<std::pair<std::string, std::string>> suffix_aliases;
    // Tensors that may stay unused (buffers such as position_ids): matched against the name's end.
    std::vector<std::string> ignored_suffixes;
};

class weight_scope;

// Fills a tensor the model asks for when there is no checkpoint (`mmt random-model`).
using tensor_generator = std::function<void(const std::string& name, const std::vector<std::size_t>& shape, float* out)>;

class weight_loader {
public:
    weight_loader(checkpoint ckpt, name_table table, load_options options = {})
        : ckpt_(std::move(ckpt)), table_(std::move(table)), options_(options) {}
    weight_loader(const weight_loader&) = delete;
    weight_loader& operator=(const weight_loader&) = delete;

    // A loader without a checkpoint: every tensor the model asks for is made by
    // `generate` and its name and shape recorded, so a checkpoint with exactly the
    // names a config needs can be written. Never used to load a model for real.
    explicit weight_loader(tensor_generator generate, load_options options = {}) : options_(options), generate_(std::move(generate)) {}

    const load_options& options() const { return options_; }
    // Names and shapes handed out by a synthesizing loader, in the order asked.
    const std::vector<std::pair<std::string, std::vector<std::size_t>>>& synthesized() const { return synthesized_; }

    weight_scope root();
    const checkpoint& ckpt() const { return ckpt_; }

    // The stored name for a canonical one, or "" when neither it nor an alias exists.
    std::string resolve(const std::string& name) const {
        if (ckpt_.contains(name)) return name;
        for (const auto& [canonical, stored] : table_.suffix_aliases) {
            if (name.size() >= canonical.size() && name.compare(name.size() - canonical.size(), canonical.size(), canonical) == 0) {
                std::string alt = name.substr(0, name.size() - canonical.size()) + stored;
                if (ckpt_.contains(alt)) return alt;
            }
        }
        return {};
    }

    template <std::size_t N>
    tensor<N> take(const std::string& name, const std::array<std::size_t, N>& shape) {
        if (generate_) {
            tensor<N> out(shape);
            synthesized_.emplace_back(name, std::vector<std::size_t>(shape.begin(), shape.end()));
            generate_(name, synthesized_.back().second, out.data());
            return out;
        }
        std::string stored = resolve(name);
        if (stored.empty()) fail<weight_error>(ckpt_.description(), ": missing tensor '", name, "' (expected shape ", shape_string({shape.begin(), shape.end()}), ")");
        const tensor_info& t = ckpt_.info(stored);
        if (t.shape != std::vector<std::size_t>(shape.begin(), shape.end()))
            fail<weight_error>(ckpt_.description(), ": tensor '", stored, "' has shape ", shape_string(t.shape), ", expected ",
                               shape_string({shape.begin(), shape.end()}), " from config.json");
        used_.insert(stored);
        tensor<N> out(shape);
        ckpt_.file_of(stored).convert_into(t, out.data());
        return out;
    }

    // Every tensor of the checkpoint must have been taken, except the ignored buffers.
    void check_all_used() const {
        std::vector<std::string> unused;
        for (const auto& name : ckpt_.names()) {
            if (used_.count(name) || is_ignored(name)) continue;
            unused.push_back(name);
        }
        if (unused.empty()) return;
        std::string list;
        for (std::size_t i = 0; i < unused.size() && i < 5; ++i) list += (i ? ", '" : "'") + unused[i] + "'";
        if (unused.size() > 5) list += ", ... (" + std::to_string(unused.size()) + " in all)";
        fail<weight_error>(ckpt_.description(), ": tensors the model does not use: ", list,
                           "; does config.json (architectures, layer counts) match this checkpoint?");
    }

private:
    bool is_ignored(const std::string& name) const {
        for (const auto& suffix : table_.ignored_suffixes)
            if (name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) return true;
        return false;
    }

    checkpoint ckpt_;
    name_table table_;
    load_options options_;
    std::set<std::string> used_;
    tensor_generator generate_;
    std::vector<std::pair<std::string, std::vector<std::size_t>>> synthesized_;
};

class weight_scope {
public:
    weight_scope(weight_loader& loader, std::string prefix) : loader_(&loader), prefix_(std::move(prefix)) {}

    weight_scope child(const std::string& name) const { return {*loader_, join(name) + "."}; }
    weight_scope child(std::size_t index) const { return child(std::to_string(index)); }

    // True when the checkpoint holds `name` under this scope (or an alias of it).
    bool has(const std::string& name) const { return !loader_->resolve(join(name)).empty(); }

    template <std::size_t N>
    tensor<N> get(const std::string& name, const std::array<std::size_t, N>& shape) const {
        return loader_->template take<N>(join(name), shape);
    }

    const std::string& prefix() const { return prefix_; }
    const load_options& options() const { return loader_->options(); }

private:
    std::string join(const std::string& name) const { return prefix_ + name; }

    weight_loader* loader_;
    std::string prefix_;
};

inline weight_scope weight_loader::root() { return {*this, ""}; }

}  // namespace mmt::io
