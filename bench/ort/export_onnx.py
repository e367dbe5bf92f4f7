#!/usr/bin/python3
"""ONNX graphs of the benchmarked models, for timing ONNX Runtime beside mmt on one machine.

No PyTorch here, so the graphs are written op by op from a hub checkpoint folder
(config.json + model.safetensors, float32) in the shape torch.onnx.export gives
HF's modeling code at opset 17: MatMul + Add per linear layer, LayerNormalization,
GELU as its erf formula, attention as MatMul / Softmax / MatMul over
[batch, heads, seq, head_dim], the masks as additive float32 minima. ONNX
Runtime fuses what it recognises (GELU, layer norms, MatMul + Add) when it loads
them, as it does an exported model. bench/ort/check_parity.js checks each graph
against the fixtures HF computed.

  clip-image   CLIPModel.get_image_features(pixel_values), with the vision tower's
               last_hidden_state and pooler_output
  clip-text    CLIPModel.get_text_features(input_ids, attention_mask), with the text
               tower's last_hidden_state and pooler_output
  layoutlm     LayoutLMModel(input_ids, bbox, attention_mask, token_type_ids):
               last_hidden_state, and pooler_output and the token classifier's logits
               when the checkpoint has them (LayoutLMForTokenClassification)
  wav2vec2     Wav2Vec2ForCTC(input_values) of the base variant (GroupNorm on the first
               convolution, post-LayerNorm encoder): logits, last_hidden_state,
               extract_features

--int8 writes what onnxruntime.quantization.quantize_dynamic makes of the linear
layers: int8 weights with one scale per output channel and uint8 activations
quantised per tensor at run time, as the DynamicQuantizeMatMul that ONNX Runtime
fuses DynamicQuantizeLinear + MatMulInteger + Mul + Add into. Attention's
products and the convolutions stay float32, as in the issue's ORT int8 figures.

Usage: export_onnx.py MODEL_DIR {clip-image,clip-text,layoutlm,wav2vec2} OUT.onnx [--int8]
"""
import argparse
import json
import math
import struct

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

FLOAT_MIN = float(np.finfo(np.float32).min)  # torch.finfo(float32).min, HF's mask value


def read_safetensors(path):
    """{name: float32 array} of a safetensors file."""
    dtypes = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
    with open(path, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(size))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = data[begin:end]
        if info["dtype"] == "BF16":  # the top half of a float32
            array = (np.frombuffer(raw, np.uint16).astype(np.uint32) << 16).view(np.float32)
        elif info["dtype"] in dtypes:
            array = np.frombuffer(raw, dtypes[info["dtype"]])
        else:
            raise ValueError(f"{path}: {name} is {info['dtype']}, expected F32, F16, BF16 or I64")
        tensors[name] = array.reshape(info["shape"]).astype(np.float32)
    return tensors


class Graph:
    """Nodes and initializers, named in order; op() returns its output's name."""

    def __init__(self, weights, prefix, int8):
        self.weights, self.prefix, self.int8 = weights, prefix, int8
        self.nodes, self.initializers, self.count = [], [], 0

    def fresh(self, hint):
        self.count += 1
        return f"{hint}_{self.count}"

    def const(self, value, dtype=np.float32):
        name = self.fresh("c")
        self.initializers.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def w(self, name):
        """A checkpoint tensor, without the model's prefix."""
        key = self.prefix + name
        if key not in self.weights:
            raise KeyError(f"{key} is not in the checkpoint")
        return self.weights[key]

    def op(self, op_type, inputs, domain=None, **attrs):
        name = self.fresh(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [name], domain=domain, **attrs))
        return name

    def linear(self, x, name, bias=True):
        """x W^T + b for the checkpoint's `name`.weight [out, in] (and .bias)."""
        weight = self.w(name + ".weight")
        b = self.const(self.w(name + ".bias")) if bias else None
        if self.int8:
            scale = np.abs(weight).max(axis=1) / 127.0
            scale[scale == 0] = 1.0
            levels = np.clip(np.round(weight / scale[:, None]), -127, 127).astype(np.int8).T
            inputs = [x, self.const(levels, np.int8), self.const(scale), self.const(np.zeros_like(scale), np.int8)]
            return self.op("DynamicQuantizeMatMul", inputs + ([b] if b else []), domain="com.microsoft")
        y = self.op("MatMul", [x, self.const(weight.T)])
        return self.op("Add", [y, b]) if b else y

    def layer_norm(self, x, name, eps):
        return self.op("LayerNormalization", [x, self.const(self.w(name + ".weight")), self.const(self.w(name + ".bias"))],
                       axis=-1, epsilon=eps)

    def gelu(self, x):  # 0.5 x (1 + erf(x / sqrt 2))
        erf = self.op("Erf", [self.op("Div", [x, self.const(math.sqrt(2.0))])])
        return self.op("Mul", [self.op("Mul", [x, self.const(0.5)]), self.op("Add", [erf, self.const(1.0)])])

    def quick_gelu(self, x):  # x sigmoid(1.702 x)
        return self.op("Mul", [x, self.op("Sigmoid", [self.op("Mul", [x, self.const(1.702)])])])

    def activation(self, x, name):
        return {"gelu": self.gelu, "quick_gelu": self.quick_gelu}[name](x)

    def attention(self, x, name, heads, head_dim, masks=(), q="q_proj", k="k_proj", v="v_proj", scale_scores=False):
        """Multi-head self-attention of x [batch, seq, hidden]: the context before the output projection.
        The query is scaled after its projection, as CLIP and wav2vec2 do, or with `scale_scores` the
        scores are divided by sqrt(head_dim), as BERT does (the pattern ONNX Runtime fuses into its
        Attention op); then the additive masks [.., seq] are added to the scores."""
        split = self.const([0, 0, heads, head_dim], np.int64)
        query = self.linear(x, f"{name}.{q}")
        if not scale_scores:
            query = self.op("Mul", [query, self.const(head_dim**-0.5)])
        qh = self.op("Transpose", [self.op("Reshape", [query, split])], perm=[0, 2, 1, 3])
        kt = self.op("Transpose", [self.op("Reshape", [self.linear(x, f"{name}.{k}"), split])], perm=[0, 2, 3, 1])
        vh = self.op("Transpose", [self.op("Reshape", [self.linear(x, f"{name}.{v}"), split])], perm=[0, 2, 1, 3])
        scores = self.op("MatMul", [qh, kt])  # [batch, heads, seq, seq]
        if scale_scores:
            scores = self.op("Div", [scores, self.const(math.sqrt(head_dim))])
        for mask in masks:
            scores = self.op("Add", [scores, mask])
        context = self.op("MatMul", [self.op("Softmax", [scores], axis=-1), vh])
        return self.op("Reshape", [self.op("Transpose", [context], perm=[0, 2, 1, 3]), self.const([0, 0, heads * head_dim], np.int64)])

    def padding_mask(self, attention_mask):
        """[batch, seq] int64 of 1 (keep) / 0 (pad) to HF's additive [batch, 1, 1, seq]: (1 - mask) * min."""
        keep = self.op("Cast", [self.op("Unsqueeze", [attention_mask, self.const([1, 2], np.int64)])], to=TensorProto.FLOAT)
        return self.op("Mul", [self.op("Sub", [self.const(1.0), keep]), self.const(FLOAT_MIN)])

    def model(self, inputs, outputs):
        graph = helper.make_graph(self.nodes, "mmt_export", inputs, outputs, self.initializers)
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)],
                                 producer_name="mmt bench/ort/export_onnx.py")


def clip_encoder(g, x, prefix, c, masks=()):
    """CLIPEncoder: pre-LayerNorm layers, quick_gelu MLP."""
    heads = c["num_attention_heads"]
    head_dim = c["hidden_size"] // heads
    for i in range(c["num_hidden_layers"]):
        layer = f"{prefix}.encoder.layers.{i}"
        h = g.layer_norm(x, f"{layer}.layer_norm1", c["layer_norm_eps"])
        x = g.op("Add", [x, g.linear(g.attention(h, f"{layer}.self_attn", heads, head_dim, masks), f"{layer}.self_attn.out_proj")])
        h = g.layer_norm(x, f"{layer}.layer_norm2", c["layer_norm_eps"])
        h = g.linear(g.activation(g.linear(h, f"{layer}.mlp.fc1"), c["hidden_act"]), f"{layer}.mlp.fc2")
        x = g.op("Add", [x, h])
    return x


CLIP_VISION = {"hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12, "num_attention_heads": 12,
               "image_size": 224, "patch_size": 32, "num_channels": 3, "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5}
CLIP_TEXT = {"vocab_size": 49408, "hidden_size": 512, "intermediate_size": 2048, "num_hidden_layers": 12,
             "num_attention_heads": 8, "max_position_embeddings": 77, "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5,
             "eos_token_id": 49407}


def clip_image(g, config):
    c = {**CLIP_VISION, **config.get("vision_config", {})}
    size, patch, hidden = c["image_size"], c["patch_size"], c["hidden_size"]
    pixels = helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, ["batch", c["num_channels"], size, size])
    p = "vision_model"
    patches = g.op("Conv", ["pixel_values", g.const(g.w(f"{p}.embeddings.patch_embedding.weight"))], strides=[patch, patch])
    patches = g.op("Transpose", [g.op("Reshape", [patches, g.const([0, hidden, -1], np.int64)])], perm=[0, 2, 1])
    batch = g.op("Slice", [g.op("Shape", ["pixel_values"]), g.const([0], np.int64), g.const([1], np.int64)])
    class_shape = g.op("Concat", [batch, g.const([1, hidden], np.int64)], axis=0)
    cls = g.op("Expand", [g.const(g.w(f"{p}.embeddings.class_embedding").reshape(1, 1, hidden)), class_shape])
    x = g.op("Add", [g.op("Concat", [cls, patches], axis=1), g.const(g.w(f"{p}.embeddings.position_embedding.weight"))])
    x = g.layer_norm(x, f"{p}.pre_layrnorm", c["layer_norm_eps"])
    last = clip_encoder(g, x, p, c)
    first = g.op("Squeeze", [g.op("Slice", [last, g.const([0], np.int64), g.const([1], np.int64), g.const([1], np.int64)]),
                             g.const([1], np.int64)])
    pooled = g.layer_norm(first, f"{p}.post_layernorm", c["layer_norm_eps"])
    g.prefix = ""
    features = g.linear(pooled, "visual_projection", bias=False)
    outs = {"image_features": (features, ["batch", "projection"]), "last_hidden_state": (last, ["batch", "tokens", hidden]),
            "pooler_output": (pooled, ["batch", hidden])}
    return [pixels], outs


def clip_text(g, config):
    c = {**CLIP_TEXT, **config.get("text_config", {})}
    hidden = c["hidden_size"]
    ids = helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"])
    mask = helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "sequence"])
    p = "text_model"
    seq = g.op("Slice", [g.op("Shape", ["input_ids"]), g.const([1], np.int64), g.const([2], np.int64)])
    positions = g.op("Slice", [g.const(g.w(f"{p}.embeddings.position_embedding.weight")), g.const([0], np.int64), seq])
    x = g.op("Add", [g.op("Gather", [g.const(g.w(f"{p}.embeddings.token_embedding.weight")), "input_ids"]), positions])
    # The causal mask [1, 1, seq, seq]: min above the diagonal, cut from the longest one.
    n = c["max_position_embeddings"]
    causal_full = np.triu(np.full((n, n), FLOAT_MIN, np.float32), 1).reshape(1, 1, n, n)
    causal = g.op("Slice", [g.const(causal_full), g.const([0, 0], np.int64), g.op("Concat", [seq, seq], axis=0),
                            g.const([2, 3], np.int64)])
    last = clip_encoder(g, x, p, c, masks=(causal, g.padding_mask("attention_mask")))
    last = g.layer_norm(last, f"{p}.final_layer_norm", c["layer_norm_eps"])
    # The pooled token: the highest id (legacy eos_token_id 2) or the first eos_token_id, per row.
    if c["eos_token_id"] == 2:
        eos = g.op("ArgMax", ["input_ids"], axis=-1, keepdims=0)
    else:
        is_eos = g.op("Cast", [g.op("Equal", ["input_ids", g.const(c["eos_token_id"], np.int64)])], to=TensorProto.INT32)
        eos = g.op("ArgMax", [is_eos], axis=-1, keepdims=0, select_last_index=0)
    index = g.op("Unsqueeze", [g.op("Unsqueeze", [eos, g.const([1], np.int64)]), g.const([2], np.int64)])  # [batch, 1, 1]
    shape = g.op("Concat", [g.op("Slice", [g.op("Shape", ["input_ids"]), g.const([0], np.int64), g.const([1], np.int64)]),
                            g.const([1, hidden], np.int64)], axis=0)
    pooled = g.op("Squeeze", [g.op("GatherElements", [last, g.op("Expand", [index, shape])], axis=1), g.const([1], np.int64)])
    g.prefix = ""
    features = g.linear(pooled, "text_projection", bias=False)
    outs = {"text_features": (features, ["batch", "projection"]), "last_hidden_state": (last, ["batch", "sequence", hidden]),
            "pooler_output": (pooled, ["batch", hidden])}
    return [ids, mask], outs


LAYOUTLM = {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072,
            "hidden_act": "gelu", "layer_norm_eps": 1e-12}


def layoutlm(g, config):
    c = {**LAYOUTLM, **config}
    hidden, heads, eps = c["hidden_size"], c["num_attention_heads"], c["layer_norm_eps"]
    if any(name.startswith("layoutlm.") for name in g.weights):
        g.prefix = "layoutlm."
    names = ["input_ids", "attention_mask", "token_type_ids"]
    inputs = [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "sequence"]) for n in names]
    inputs.insert(1, helper.make_tensor_value_info("bbox", TensorProto.INT64, ["batch", "sequence", 4]))
    e = "embeddings"

    def table(name):
        return g.const(g.w(f"{e}.{name}.weight"))

    def coordinate(i):
        return g.op("Squeeze", [g.op("Slice", ["bbox", g.const([i], np.int64), g.const([i + 1], np.int64), g.const([2], np.int64)]),
                                g.const([2], np.int64)])

    seq = g.op("Slice", [g.op("Shape", ["input_ids"]), g.const([1], np.int64), g.const([2], np.int64)])
    positions = g.op("Slice", [table("position_embeddings"), g.const([0], np.int64), seq])
    left, upper, right, lower = (coordinate(i) for i in range(4))
    parts = [g.op("Gather", [table("word_embeddings"), "input_ids"]), positions,
             g.op("Gather", [table("x_position_embeddings"), left]), g.op("Gather", [table("y_position_embeddings"), upper]),
             g.op("Gather", [table("x_position_embeddings"), right]), g.op("Gather", [table("y_position_embeddings"), lower]),
             g.op("Gather", [table("h_position_embeddings"), g.op("Sub", [lower, upper])]),
             g.op("Gather", [table("w_position_embeddings"), g.op("Sub", [right, left])]),
             g.op("Gather", [table("token_type_embeddings"), "token_type_ids"])]
    x = parts[0]
    for part in parts[1:]:
        x = g.op("Add", [x, part])
    x = g.layer_norm(x, f"{e}.LayerNorm", eps)
    mask = g.padding_mask("attention_mask")
    for i in range(c["num_hidden_layers"]):
        layer = f"encoder.layer.{i}"
        context = g.attention(x, f"{layer}.attention.self", heads, hidden // heads, (mask,), q="query", k="key", v="value",
                              scale_scores=True)
        x = g.layer_norm(g.op("Add", [g.linear(context, f"{layer}.attention.output.dense"), x]), f"{layer}.attention.output.LayerNorm",
                         eps)
        h = g.activation(g.linear(x, f"{layer}.intermediate.dense"), c["hidden_act"])
        x = g.layer_norm(g.op("Add", [g.linear(h, f"{layer}.output.dense"), x]), f"{layer}.output.LayerNorm", eps)
    outs = {"last_hidden_state": (x, ["batch", "sequence", hidden])}
    if g.prefix + "pooler.dense.weight" in g.weights:
        first = g.op("Squeeze", [g.op("Slice", [x, g.const([0], np.int64), g.const([1], np.int64), g.const([1], np.int64)]),
                                 g.const([1], np.int64)])
        outs["pooler_output"] = (g.op("Tanh", [g.linear(first, "pooler.dense")]), ["batch", hidden])
    if "classifier.weight" in g.weights:
        g.prefix = ""
        outs["logits"] = (g.linear(x, "classifier"), ["batch", "sequence", len(g.w("classifier.bias"))])
    return inputs, outs


WAV2VEC2 = {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072,
            "hidden_act": "gelu", "layer_norm_eps": 1e-5, "feat_extract_norm": "group", "do_stable_layer_norm": False,
            "conv_dim": [512] * 7, "conv_stride": [5, 2, 2, 2, 2, 2, 2], "conv_kernel": [10, 3, 3, 3, 3, 2, 2],
            "conv_bias": False, "num_conv_pos_embeddings": 128, "num_conv_pos_embedding_groups": 16, "vocab_size": 32}


def wav2vec2(g, config):
    c = {**WAV2VEC2, **config}
    if c["feat_extract_norm"] != "group" or c["do_stable_layer_norm"]:
        raise ValueError("wav2vec2: only the base variant (feat_extract_norm group, post-LayerNorm encoder) is exported")
    hidden, heads, eps = c["hidden_size"], c["num_attention_heads"], c["layer_norm_eps"]
    g.prefix = "wav2vec2."
    audio = helper.make_tensor_value_info("input_values", TensorProto.FLOAT, ["batch", "samples"])
    x = g.op("Unsqueeze", ["input_values", g.const([1], np.int64)])  # [batch, 1, samples]
    for i, (kernel, stride) in enumerate(zip(c["conv_kernel"], c["conv_stride"])):
        layer = f"feature_extractor.conv_layers.{i}"
        inputs = [x, g.const(g.w(f"{layer}.conv.weight"))] + ([g.const(g.w(f"{layer}.conv.bias"))] if c["conv_bias"] else [])
        x = g.op("Conv", inputs, strides=[stride], kernel_shape=[kernel])
        if i == 0:  # GroupNorm with a group per channel: each channel normalised over time
            x = g.op("InstanceNormalization", [x, g.const(g.w(f"{layer}.layer_norm.weight")), g.const(g.w(f"{layer}.layer_norm.bias"))],
                     epsilon=eps)
        x = g.gelu(x)
    features = g.op("Transpose", [x], perm=[0, 2, 1])  # [batch, frames, conv_dim]
    extract = g.layer_norm(features, "feature_projection.layer_norm", eps)
    x = g.linear(extract, "feature_projection.projection")
    # Positional convolution, its weight from weight norm over dim 2: g * v / ||v|| per kernel tap.
    pos = "encoder.pos_conv_embed.conv"
    if g.prefix + pos + ".weight_g" in g.weights:
        v, gain = g.w(pos + ".weight_v"), g.w(pos + ".weight_g")
    else:
        gain, v = g.w(pos + ".parametrizations.weight.original0"), g.w(pos + ".parametrizations.weight.original1")
    weight = gain * v / np.sqrt((v.astype(np.float64) ** 2).sum(axis=(0, 1), keepdims=True)).astype(np.float32)
    taps = c["num_conv_pos_embeddings"]
    conv = g.op("Conv", [g.op("Transpose", [x], perm=[0, 2, 1]), g.const(weight), g.const(g.w(pos + ".bias"))],
                kernel_shape=[taps], pads=[taps // 2, taps // 2], group=c["num_conv_pos_embedding_groups"])
    if taps % 2 == 0:  # Wav2Vec2SamePadLayer drops the last frame
        conv = g.op("Slice", [conv, g.const([0], np.int64), g.const([-1], np.int64), g.const([2], np.int64)])
    x = g.op("Add", [x, g.op("Transpose", [g.gelu(conv)], perm=[0, 2, 1])])
    x = g.layer_norm(x, "encoder.layer_norm", eps)
    for i in range(c["num_hidden_layers"]):
        layer = f"encoder.layers.{i}"
        context = g.attention(x, f"{layer}.attention", heads, hidden // heads)
        x = g.layer_norm(g.op("Add", [x, g.linear(context, f"{layer}.attention.out_proj")]), f"{layer}.layer_norm", eps)
        h = g.activation(g.linear(x, f"{layer}.feed_forward.intermediate_dense"), c["hidden_act"])
        x = g.layer_norm(g.op("Add", [x, g.linear(h, f"{layer}.feed_forward.output_dense")]), f"{layer}.final_layer_norm", eps)
    g.prefix = ""
    logits = g.linear(x, "lm_head")
    return [audio], {"logits": (logits, ["batch", "frames", c["vocab_size"]]), "last_hidden_state": (x, ["batch", "frames", hidden]),
                     "extract_features": (extract, ["batch", "frames", c["conv_dim"][-1]])}


BUILDERS = {"clip-image": clip_image, "clip-text": clip_text, "layoutlm": layoutlm, "wav2vec2": wav2vec2}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model_dir")
    parser.add_argument("graph", choices=sorted(BUILDERS))
    parser.add_argument("out")
    parser.add_argument("--int8", action="store_true", help="quantize the linear layers as quantize_dynamic does")
    args = parser.parse_args()
    with open(f"{args.model_dir}/config.json") as f:
        config = json.load(f)
    g = Graph(read_safetensors(f"{args.model_dir}/model.safetensors"), "", args.int8)
    inputs, outputs = BUILDERS[args.graph](g, config)
    # Name each output as HF does: an Identity from the value that carries it.
    infos = []
    for name, (value, shape) in outputs.items():
        g.nodes.append(helper.make_node("Identity", [value], [name]))
        infos.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, shape))
    model = g.model(inputs, infos)
    onnx.checker.check_model(model)
    onnx.save(model, args.out, save_as_external_data=model.ByteSize() > 1_900_000_000)


if __name__ == "__main__":
    main()
