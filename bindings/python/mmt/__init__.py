"""mmt: HuggingFace multi-modal transformers run by a C++ library, with HF's numbers.

    import mmt
    clip = mmt.Embedder("models/clip-vit-base-patch32")
    clip.embed_texts(["a photo of a cat"])             # float32 [1, 512], unit rows
    clip.classify_image("cat.jpg", ["cat", "dog"])      # [{"score", "label"}, ...]
    asr = mmt.SpeechRecognizer("models/wav2vec2-base-960h")
    asr.transcribe("speech.wav", return_timestamps="word")
    mmt.AutoModel("models/layoutlm").forward({"input_ids": ids, "bbox": boxes})
    mmt.quantize("models/clip-vit-base-patch32", "models/clip-int8")  # loads in int8 from then on

Every call releases the GIL, so threads share one loaded model. Errors raise
mmt.Error's subclasses (IoError, FormatError, ConfigError, WeightError, ShapeError,
InputError, ...) with the library's messages.
"""
from ._mmt import (  # noqa: F401
    __version__,
    ArgumentError,
    AutoModel,
    ConfigError,
    DocumentModel,
    Embedder,
    Error,
    FormatError,
    InputError,
    InternalError,
    IoError,
    NoMemoryError,
    quantize,
    read_image,
    ShapeError,
    SpeechRecognizer,
    WeightError,
)
