// A family's heads as HF's config.json `architectures` names them: the one
// table from an architecture enum to its class name and back, so the name, the
// parser and the "expected ..." list of an error cannot drift apart.
#pragma once

#include <array>
#include <cstddef>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/io/json.hpp"

namespace mmt {

template <class Arch, std::size_t N>
struct architecture_table {
    const char* family;                                   // for errors, e.g. "CLIP"
    std::array<std::pair<Arch, const char*>, N> entries;  // HF class names

    const char* name(Arch a) const {
        for (const auto& [arch, name] : entries)
            if (arch == a) return name;
        return "?";
    }

    std::array<Arch, N> all() const {
        std::array<Arch, N> out{};
        for (std::size_t i = 0; i < N; ++i) out[i] = entries[i].first;
        return out;
    }

    // config_error naming the key, the family and the names it knows for an unknown `name`.
    Arch parse(const std::string& name, const std::string& where) const {
        for (const auto& [arch, known] : entries)
            if (name == known) return arch;
        std::vector<const char*> names;
        for (const auto& entry : entries) names.push_back(entry.second);
        fail<config_error>(where, ": key \"architectures\": unknown architecture \"", name, "\" for ", family, ", expected ",
                           or_list(names));
    }

    // config.json's `architectures`: the one entry it lists, or `fallback` when it lists none
    // (HF then builds the class the caller asked for). Several entries are refused, as only
    // one head can be loaded.
    Arch read(const io::json& j, const std::string& where, Arch fallback) const {
        std::vector<std::string> architectures;
        io::json_optional(j, "architectures", architectures, where);
        if (architectures.size() > 1)
            fail<config_error>(where, ": key \"architectures\" lists ", architectures.size(), " entries, expected one");
        return architectures.empty() ? fallback : parse(architectures.front(), where);
    }
};

}  // namespace mmt
