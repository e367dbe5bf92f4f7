// config.json of every family (and the preprocessor, CTC tokenizer and OCR document
// settings) from arbitrary text; a config that parses is then loaded against the
// family's tiny checkpoint, so absurd sizes meet the shape checks of a real load.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "mmt/io/checkpoint.hpp"
#include "mmt/io/json.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/models/clip/clip_model.hpp"
#include "mmt/models/clip/names.hpp"
#include "mmt/models/layoutlm/heads.hpp"
#include "mmt/models/layoutlm/names.hpp"
#include "mmt/models/wav2vec2/names.hpp"
#include "mmt/models/wav2vec2/wav2vec2_model.hpp"
#include "mmt/pipelines/ocr_document.hpp"
#include "mmt/preprocess/audio.hpp"
#include "mmt/preprocess/image.hpp"
#include "mmt/tokenizers/ctc_decode.hpp"

using namespace mmt;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const io::checkpoint clip_checkpoint = io::checkpoint::open(fuzz::data_path("clip-tiny"));
    static const io::checkpoint layoutlm_checkpoint = io::checkpoint::open(fuzz::data_path("layoutlm-tiny-token-cls"));
    static const io::checkpoint wav2vec2_checkpoint = io::checkpoint::open(fuzz::data_path("wav2vec2-tiny-ctc"));
    const std::string where = "fuzz/config.json";
    fuzz::expect_mmt_errors([&] {
        const io::json j = io::parse_json(fuzz::as_string(data, size), where);
        fuzz::expect_mmt_errors([&] {
            const auto c = clip::config::from_json(j, where);
            io::weight_loader loader(clip_checkpoint, clip::checkpoint_names());
            clip::clip_model::load(c, loader);
        });
        fuzz::expect_mmt_errors([&] {
            const auto c = layoutlm::config::from_json(j, where);
            io::weight_loader loader(layoutlm_checkpoint, layoutlm::checkpoint_names());
            layoutlm::pretrained_model::load(c, loader);
        });
        fuzz::expect_mmt_errors([&] {
            const auto c = wav2vec2::config::from_json(j, where);
            io::weight_loader loader(wav2vec2_checkpoint, wav2vec2::checkpoint_names());
            wav2vec2::wav2vec2_model::load(c, loader);
        });
        fuzz::expect_mmt_errors([&] { preprocess::clip_image_processor_config::from_json(j, where); });
        fuzz::expect_mmt_errors([&] { preprocess::wav2vec2_feature_extractor_config::from_json(j, where); });
        fuzz::expect_mmt_errors([&] { tokenizers::ctc_tokenizer_config::from_json(j, where); });
        fuzz::expect_mmt_errors([&] { pipelines::ocr_document::from_json(j, where); });
    });
    return 0;
}
