// What is inside a checkpoint? Lists the tensors of a .safetensors file with
// their dtypes and shapes, and the parameter count.
// Usage: inspect_safetensors FILE
#include <cstdio>
#include <exception>

#include <mmt/io/safetensors.hpp>

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s FILE.safetensors\n", argv[0]);
        return 2;
    }
    try {
        const mmt::io::safetensors_file file(argv[1]);  // memory-mapped; the header is validated
        std::size_t parameters = 0;
        for (const auto& name : file.names()) {
            const auto& t = file.info(name);
            std::printf("%-55s %-4s %s\n", name.c_str(), mmt::dtype_name(t.dtype), mmt::io::shape_string(t.shape).c_str());
            parameters += t.numel();
        }
        std::printf("%zu tensors, %zu parameters\n", file.size(), parameters);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "inspect_safetensors: %s\n", e.what());
        return 1;
    }
    return 0;
}
