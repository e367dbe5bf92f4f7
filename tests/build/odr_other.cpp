#include <mmt/mmt.hpp>

int other_translation_unit() { return static_cast<int>(mmt::tensor<1>::from_shape({3}).size()); }
