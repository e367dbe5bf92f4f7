// The fold auto_model runs over models/families.hpp, on a list of made-up
// families: a new family is found by its model_type through the list alone, and
// the refusal of an unknown model_type names every family's types.
#include <doctest/doctest.h>

#include <array>
#include <string>
#include <type_traits>
#include <vector>

#include "mmt/models/family.hpp"
#include "support/throws.hpp"

using namespace mmt;

namespace {

struct speech_family {
    static constexpr std::array<const char*, 2> model_types = {"hubert", "wavlm"};
};
struct vision_family {
    static constexpr std::array<const char*, 1> model_types = {"siglip"};
};
using made_up = family_list<speech_family, vision_family>;

std::string family_for(const std::string& model_type) {
    return with_family(made_up{}, model_type, "config.json", [](auto f) {
        return std::string(std::is_same_v<typename decltype(f)::type, speech_family> ? "speech" : "vision");
    });
}

}  // namespace

TEST_CASE("models.families: a model_type finds its family through the list alone" * doctest::test_suite("unit")) {
    CHECK(family_for("hubert") == "speech");
    CHECK(family_for("wavlm") == "speech");
    CHECK(family_for("siglip") == "vision");
    CHECK(model_types_of(made_up{}) == std::vector<std::string>{"hubert", "wavlm", "siglip"});
    test::check_throws<config_error>([] { family_for("bert"); },
                                     {"config.json", "model_type \"bert\" is not supported", "expected hubert, wavlm or siglip"});
}
