// Two translation units include the umbrella header; linking them proves every
// function and variable in the headers is inline (ODR-clean).
#include <mmt/mmt.hpp>

int other_translation_unit();

int main() { return other_translation_unit() == 3 && mmt::dtype_size(mmt::dtype::f32) == 4 ? 0 : 1; }
