// Speech to text with word timestamps from a Wav2Vec2ForCTC checkpoint, as
// transformers' pipeline("automatic-speech-recognition", return_timestamps="word").
// Usage: wav2vec2_transcribe MODEL_DIR AUDIO.wav
#include <cstdio>
#include <exception>

#include <mmt/mmt.hpp>

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s MODEL_DIR AUDIO.wav\n", argv[0]);
        return 2;
    }
    try {
        // config.json, model.safetensors, vocab.json (preprocessor_config.json if the model has one)
        const auto recognizer = mmt::pipelines::speech_recognizer::from_pretrained(argv[1]);

        mmt::pipelines::transcription_options options;
        options.chunk_length_s = 30.0;  // long files in 30 s chunks; a shorter file is read in one pass
        options.timestamps = mmt::pipelines::timestamp_level::word;
        const auto result = recognizer.transcribe_file(argv[2], options);

        std::printf("%s\n", result.text.c_str());
        for (const auto& word : result.chunks) std::printf("%6.2f - %6.2f  %s\n", word.start, word.end, word.text.c_str());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "wav2vec2_transcribe: %s\n", e.what());
        return 1;
    }
    return 0;
}
