// The feeds of each benchmark row, as mmt_bench builds them
// (bench/real_size_models.hpp): time_ort.js and accuracy_ort.js run these.
'use strict';
const ort = require('onnxruntime-node');

function int64(values, dims) {
  return new ort.Tensor('int64', BigInt64Array.from(values, (v) => BigInt(v)), dims);
}

// Uniform in [-1, 1) from a fixed xorshift32 sequence: CLIP's pixels. mmt_bench draws
// its own (std::mt19937); the values change neither the time nor, much, the figures.
function uniformPixels(count) {
  const pixels = new Float32Array(count);
  let state = 7;
  for (let i = 0; i < count; ++i) {
    state ^= state << 13, state ^= state >>> 17, state ^= state << 5;
    pixels[i] = (state >>> 0) / 2147483648 - 1;
  }
  return pixels;
}

const rowPatterns = 'clip_b32_image/batch:N, clip_b32_text/batch:N, layoutlm_base/BxS or wav2vec2_base/seconds:N';

function feedsFor(row) {
  let m;
  if ((m = row.match(/^clip_b32_image\/batch:(\d+)$/))) {
    const batch = Number(m[1]);
    return {pixel_values: new ort.Tensor('float32', uniformPixels(batch * 3 * 224 * 224), [batch, 3, 224, 224])};
  }
  if ((m = row.match(/^clip_b32_text\/batch:(\d+)$/))) {
    const batch = Number(m[1]), seq = 77, ids = [];
    for (let b = 0; b < batch; ++b)
      for (let s = 0; s < seq; ++s) ids.push(s === 0 ? 49406 : s + 1 === seq ? 49407 : 1000 + (37 * (b + s)) % 40000);
    return {input_ids: int64(ids, [batch, seq]), attention_mask: int64(ids.map(() => 1), [batch, seq])};
  }
  if ((m = row.match(/^layoutlm_base\/(\d+)x(\d+)$/))) {
    const batch = Number(m[1]), seq = Number(m[2]), ids = [], boxes = [];
    for (let b = 0; b < batch; ++b)
      for (let s = 0; s < seq; ++s) {
        ids.push(1000 + ((b * 131 + s * 17) % 28000));
        const x = (s * 37) % 900, y = (s * 53) % 950;
        boxes.push(x, y, x + 60, y + 20);
      }
    return {input_ids: int64(ids, [batch, seq]), bbox: int64(boxes, [batch, seq, 4]),
            attention_mask: int64(ids.map(() => 1), [batch, seq]), token_type_ids: int64(ids.map(() => 0), [batch, seq])};
  }
  if ((m = row.match(/^wav2vec2_base\/seconds:(\d+)$/))) {
    const samples = Number(m[1]) * 16000, audio = new Float32Array(samples);
    for (let i = 0; i < samples; ++i) audio[i] = 0.1 * Math.sin(0.05 * i) + (0.01 * (((i * 7919) % 200) - 100)) / 100;
    return {input_values: new ort.Tensor('float32', audio, [1, samples])};
  }
  throw new Error(`unknown row ${row}, expected ${rowPatterns}`);
}

// A session as the benchmarks run one: 2 intra-op threads, ORT's full graph optimisation.
function openSession(model) {
  return ort.InferenceSession.create(model, {intraOpNumThreads: 2, interOpNumThreads: 1, executionMode: 'sequential',
                                             graphOptimizationLevel: 'all'});
}

module.exports = {feedsFor, openSession, rowPatterns};
