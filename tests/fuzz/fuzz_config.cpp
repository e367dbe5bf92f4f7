// config.json from arbitrary text, read by every family of models/families.hpp as
// its from_pretrained reads it (whatever the model_type says); a config that parses
// is then loaded against each tiny checkpoint in tests/data of a model_type the
// family reads (fuzz_fixtures.hpp), so absurd sizes meet the shape checks of a
// real load. The preprocessor, CTC tokenizer and OCR document settings read the
// same text.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_fixtures.hpp"
#include "fuzz_support.hpp"
#include "mmt/io/json.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/models/families.hpp"
#include "mmt/pipelines/ocr_document.hpp"
#include "mmt/preprocess/audio.hpp"
#include "mmt/preprocess/image.hpp"
#include "mmt/tokenizers/ctc_decode.hpp"

using namespace mmt;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const fuzz::model_fixtures fixtures = fuzz::read_model_fixtures();
    const std::string where = "fuzz/config.json";
    fuzz::expect_mmt_errors([&] {
        const io::json j = io::parse_json(fuzz::as_string(data, size), where);
        fuzz::for_each_family_fixture(families{}, fixtures, [&](auto tag, const fuzz::model_fixture& fixture) {
            using family = typename decltype(tag)::type;
            fuzz::expect_mmt_errors([&] {
                io::weight_loader loader(fixture.checkpoint, family::checkpoint_names(), fuzz::options_for(size));
                family::load(j, where, loader);
            });
        });
        fuzz::expect_mmt_errors([&] { preprocess::clip_image_processor_config::from_json(j, where); });
        fuzz::expect_mmt_errors([&] { preprocess::wav2vec2_feature_extractor_config::from_json(j, where); });
        fuzz::expect_mmt_errors([&] { tokenizers::ctc_tokenizer_config::from_json(j, where); });
        fuzz::expect_mmt_errors([&] { pipelines::ocr_document::from_json(j, where); });
    });
    return 0;
}
