// The added tokens of a tokenizer (HF's AddedToken list), found in a text through a
// byte trie and by content or id through hash maps, so a tokenizer with tens of
// thousands of them costs per text what one with three does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace mmt::tokenizers {

// HF's AddedToken: a token cut out of the raw text whole. lstrip / rstrip: it eats the
// whitespace (str.isspace) on its left / right in the text, as RoBERTa's "<mask>" does.
struct added_token {
    std::string content;
    std::int64_t id = 0;
    bool lstrip = false;
    bool rstrip = false;
};

// Where two tokens share a content or an id, the first listed is the one found, as a
// search along the list would find it.
class added_vocabulary {
public:
    added_vocabulary() = default;

    explicit added_vocabulary(std::vector<added_token> tokens) : tokens_(std::move(tokens)) {
        for (std::size_t i = 0; i < tokens_.size(); ++i) {
            const added_token& token = tokens_[i];
            by_content_.emplace(token.content, i);
            by_id_.emplace(token.id, i);
            if (token.content.empty()) continue;  // never found in a text
            std::uint32_t node = 0;
            for (const unsigned char byte : token.content) {
                const auto [edge, added] = children_.emplace(edge_key(node, byte), static_cast<std::uint32_t>(ends_.size()));
                if (added) ends_.push_back(none);
                node = edge->second;
            }
            if (ends_[node] == none) ends_[node] = i;
        }
    }

    const std::vector<added_token>& tokens() const { return tokens_; }

    // The longest token written in `text` at `pos`, or null. The cost is at most the
    // length of the longest token, whatever their number.
    const added_token* longest_at(std::string_view text, std::size_t pos) const {
        const added_token* best = nullptr;
        std::uint32_t node = 0;
        for (std::size_t i = pos; i < text.size(); ++i) {
            const auto edge = children_.find(edge_key(node, static_cast<unsigned char>(text[i])));
            if (edge == children_.end()) break;
            node = edge->second;
            if (ends_[node] != none) best = &tokens_[ends_[node]];
        }
        return best;
    }

    const added_token* find(const std::string& content) const { return at(by_content_, content); }
    const added_token* find(std::int64_t id) const { return at(by_id_, id); }

private:
    static constexpr std::size_t none = static_cast<std::size_t>(-1);

    static std::uint64_t edge_key(std::uint32_t node, unsigned char byte) { return (std::uint64_t(node) << 8) | byte; }

    template <class Map, class Key>
    const added_token* at(const Map& map, const Key& key) const {
        const auto it = map.find(key);
        return it == map.end() ? nullptr : &tokens_[it->second];
    }

    std::vector<added_token> tokens_;
    std::unordered_map<std::string, std::size_t> by_content_;
    std::unordered_map<std::int64_t, std::size_t> by_id_;
    // The trie: node 0 is the root; children_ maps (node, byte) to the next node,
    // ends_[node] is the token whose content ends there (or none).
    std::unordered_map<std::uint64_t, std::uint32_t> children_;
    std::vector<std::size_t> ends_ = {none};
};

}  // namespace mmt::tokenizers
