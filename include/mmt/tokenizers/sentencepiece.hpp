// A SentencePiece model (spiece.model) through libsentencepiece's C++ API, loaded
// the way HF's T5-style slow tokenizers load it: optionally with the normaliser's
// add_dummy_prefix switched off (get_spm_processor in tokenization_t5.py /
// tokenization_siglip.py).
//
// Debian ships sentencepiece_processor.h but not the generated
// sentencepiece_model.pb.h (nor protobuf-lite headers), so the ModelProto cannot be
// edited as an object here. HF edits it by MergeFrom of a NormalizerSpec holding only
// add_dummy_prefix = false; protobuf's wire format gives the same result when one
// more `normalizer_spec` field carrying just that flag is appended to the serialized
// model: a repeated embedded message is merged into the first, and a repeated scalar
// takes the last value. So the bytes appended are field 3 (ModelProto.normalizer_spec,
// length-delimited, 2 bytes) holding field 3 (NormalizerSpec.add_dummy_prefix, varint) = 0.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <sentencepiece_processor.h>

#include "mmt/core/error.hpp"
#include "mmt/io/json.hpp"

namespace mmt::tokenizers {

class sentencepiece_model {
public:
    // Reads `path` (io_error when it cannot be read, format_error naming it when it is
    // not a SentencePiece model).
    static sentencepiece_model load(const std::filesystem::path& path, bool add_dummy_prefix = true) {
        std::string bytes = io::read_text_file(path);
        if (!add_dummy_prefix) bytes.append(no_dummy_prefix_patch, sizeof(no_dummy_prefix_patch));
        auto processor = std::make_shared<sentencepiece::SentencePieceProcessor>();
        const auto status = processor->LoadFromSerializedProto(bytes);
        if (!status.ok()) {
            fail<format_error>(path.string(), ": not a SentencePiece model (", status.ToString(), ")");
        }
        if (processor->GetPieceSize() <= 0) fail<format_error>(path.string(), ": SentencePiece model without pieces");
        sentencepiece_model model;
        model.processor_ = std::move(processor);
        model.where_ = path.string();
        return model;
    }

    // The piece ids of `text` after the model's own normalisation. A run of characters
    // outside the vocabulary is one unknown piece.
    std::vector<int> encode(std::string_view text) const {
        std::vector<int> ids;
        const auto status = processor_->Encode(text, &ids);
        if (!status.ok()) fail<input_error>(where_, ": SentencePiece cannot encode the text (", status.ToString(), ")");
        return ids;
    }

    // -1 for a piece that is not in the vocabulary.
    int piece_to_id(std::string_view piece) const {
        const int id = processor_->PieceToId(piece);
        return processor_->IdToPiece(id) == piece ? id : -1;
    }

    // input_error for an id outside the vocabulary.
    const std::string& id_to_piece(std::int64_t id) const {
        if (id < 0 || id >= size()) fail<input_error>(where_, ": id ", id, " has no piece; expected 0..", size() - 1);
        return processor_->IdToPiece(static_cast<int>(id));
    }

    int size() const { return processor_->GetPieceSize(); }

private:
    // ModelProto field 3 (wire type 2, length 2) { NormalizerSpec field 3 (wire type 0) = 0 }.
    static constexpr char no_dummy_prefix_patch[] = {0x1a, 0x02, 0x18, 0x00};

    sentencepiece_model() = default;

    // Encode is const and thread-safe, so copies share one processor.
    std::shared_ptr<const sentencepiece::SentencePieceProcessor> processor_;
    std::string where_;
};

}  // namespace mmt::tokenizers
