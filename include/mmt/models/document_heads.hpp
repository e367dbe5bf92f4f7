// What a layout family's `pretrained_model` tells the document pipelines
// (interfaces::document_token_tagger, document_sequence_classifier and
// document_question_answerer), from its config (vocab_size, labels, problem_type), its
// architecture_name() and its token_logits / sequence_logits / question_answering: CRTP, `struct pretrained_model : document_heads<pretrained_model>`.
// The family keeps max_tokens, which depends on how it counts positions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/models/interfaces/document_question_answerer.hpp"
#include "mmt/models/interfaces/document_sequence_classifier.hpp"
#include "mmt/models/interfaces/document_token_tagger.hpp"

namespace mmt {

template <class Model>
struct document_heads : interfaces::document_token_tagger,
                        interfaces::document_sequence_classifier,
                        interfaces::document_question_answerer {
    const char* architecture() const override { return self().architecture_name(); }
    std::size_t vocab_size() const override { return self().config.vocab_size; }
    std::size_t num_labels() const override { return self().config.num_labels(); }
    const std::string& label_of(std::int64_t id, const std::string& what) const override { return self().config.label_of(id, what); }
    const std::string& problem_type() const override { return self().config.problem_type; }
    tensor<3> token_class_logits(const interfaces::document_inputs& in) const override { return self().token_logits(in); }
    tensor<2> sequence_class_logits(const interfaces::document_inputs& in) const override { return self().sequence_logits(in); }
    span_logits question_answering_logits(const interfaces::document_inputs& in) const override { return self().question_answering(in); }

protected:
    // The head of `wanted` (an architecture of the family), or an input_error saying
    // which head this checkpoint has.
    template <class Head, class Architecture>
    const Head& require(const std::optional<Head>& head, Architecture wanted) const {
        if (self().config.arch != wanted || !head)
            fail<input_error>("needs a ", architecture_name(wanted), " checkpoint, this one is ", self().architecture_name(),
                              " (config.json \"architectures\")");
        return *head;
    }

private:
    const Model& self() const { return static_cast<const Model&>(*this); }
};

}  // namespace mmt
