// Complete model directories, as a hub download has them, made once per test run:
// the tiny random-weight CLIP of examples/models/clip-demo (what
// scripts/make-demo-model.sh writes), and fixture checkpoints with their
// fixtures' tokenizer and image processor files beside them.
#pragma once

#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <string>

#include "mmt/core/dtype.hpp"
#include "mmt/io/json.hpp"
#include "mmt/models/random_model.hpp"
#include "support/data.hpp"

namespace mmt::test {

// The demo model in scratch directory `name`, its config.json and
// preprocessor_config.json first changed by `edit`.
inline std::filesystem::path write_clip_demo_model(const std::string& name,
                                                   const std::function<void(io::json& config, io::json& preprocessor)>& edit) {
    namespace fs = std::filesystem;
    const fs::path out = scratch_dir(name), edited = scratch_dir(name + "_config");
    const fs::path source = fs::path(MMT_EXAMPLES_SRC_DIR) / "models" / "clip-demo";
    io::json config = io::read_json_file(source / "config.json");
    io::json preprocessor = io::read_json_file(source / "preprocessor_config.json");
    edit(config, preprocessor);
    std::ofstream(edited / "config.json") << config.dump(2);
    write_random_model(edited / "config.json", out, dtype::f32, 0);  // copies config.json
    std::ofstream(out / "preprocessor_config.json") << preprocessor.dump(2);
    for (const char* f : {"vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"})
        fs::copy_file(data_path("clip-tokenizer") / f, out / f);
    return out;
}

inline std::filesystem::path clip_demo_model() {
    static const std::filesystem::path dir = write_clip_demo_model("clip_demo_model", [](io::json&, io::json&) {});
    return dir;
}

// The demo model on 32x32 images (16 patches of 8x8): for tests that embed thousands
// of images, where 224x224 pixel values would cost more than the model.
inline std::filesystem::path clip_demo_model_32px() {
    static const std::filesystem::path dir = write_clip_demo_model("clip_demo_model_32px", [](io::json& config, io::json& preprocessor) {
        config["vision_config"]["image_size"] = 32;
        config["vision_config"]["patch_size"] = 8;
        preprocessor["size"] = {{"shortest_edge", 32}};
        preprocessor["crop_size"] = {{"height", 32}, {"width", 32}};
    });
    return dir;
}

// `model`'s config.json and model.safetensors with every file of the `with` folders
// but their reference.safetensors and cases.json, in scratch directory `name`.
inline std::filesystem::path assembled_model(const std::string& name, const std::string& model,
                                             std::initializer_list<const char*> with) {
    namespace fs = std::filesystem;
    const fs::path out = scratch_dir(name);
    for (const char* f : {"config.json", "model.safetensors"}) fs::copy_file(data_path(model) / f, out / f);
    for (const char* folder : with)
        for (const auto& entry : fs::directory_iterator(data_path(folder)))
            if (entry.path().filename() != "reference.safetensors" && entry.path().filename() != "cases.json")
                fs::copy_file(entry.path(), out / entry.path().filename());
    return out;
}

// siglip-tiny with siglip-tokenizer's spiece.model and siglip-images' preprocessor_config.json.
inline std::filesystem::path siglip_tiny_model() {
    static const std::filesystem::path dir =
        assembled_model("siglip_tiny_model", "siglip-tiny", {"siglip-tokenizer", "siglip-images"});
    return dir;
}

// chinese-clip-tiny with chinese-clip-tokenizer's vocabulary and a ChineseCLIPImageProcessor
// config for its 30x30 images (the fixture has no image processor of its own).
inline std::filesystem::path chinese_clip_tiny_model() {
    static const std::filesystem::path dir = [] {
        const auto out = assembled_model("chinese_clip_tiny_model", "chinese-clip-tiny", {"chinese-clip-tokenizer"});
        std::ofstream(out / "preprocessor_config.json")
            << R"({"image_processor_type": "ChineseCLIPImageProcessor", "size": {"height": 30, "width": 30},)"
            << R"( "crop_size": {"height": 30, "width": 30}})";
        return out;
    }();
    return dir;
}

}  // namespace mmt::test
