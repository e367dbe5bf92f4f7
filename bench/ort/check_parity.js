// Runs export_onnx.py's graphs of the tiny fixtures in ONNX Runtime on the inputs
// HF ran them on and compares with HF's outputs (the fixtures' tolerance, 1e-4):
// the graphs the ORT benchmark times are the models mmt runs (their int8 forms are
// measured against them by accuracy_ort.js).
// Usage: node check_parity.js FIXTURES_DIR ONNX_DIR   (ONNX_DIR holds GRAPH-tiny.onnx)
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');
const {openSession} = require('./rows.js');

// {name: {dtype, shape, data}} of a safetensors file (F32 and I64 only).
function readSafetensors(file) {
  const bytes = fs.readFileSync(file);
  const size = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + size).toString('utf8'));
  const tensors = {};
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [begin, end] = info.data_offsets;
    const raw = bytes.subarray(8 + size + begin, 8 + size + end);
    const copy = new Uint8Array(raw).buffer;  // aligned
    if (info.dtype === 'F32') tensors[name] = new ort.Tensor('float32', new Float32Array(copy), info.shape);
    else if (info.dtype === 'I64') tensors[name] = new ort.Tensor('int64', new BigInt64Array(copy), info.shape);
    else throw new Error(`${file}: ${name} is ${info.dtype}, expected F32 or I64`);
  }
  return tensors;
}

// Each row of [rows, width] divided by its L2 norm, as CLIPModel makes its embeds.
function normaliseRows(t) {
  const width = t.dims[t.dims.length - 1], out = new Float32Array(t.data.length);
  for (let r = 0; r < t.data.length / width; ++r) {
    let sum = 0;
    for (let j = 0; j < width; ++j) sum += t.data[r * width + j] ** 2;
    for (let j = 0; j < width; ++j) out[r * width + j] = t.data[r * width + j] / Math.sqrt(sum);
  }
  return {data: out, dims: t.dims};
}

function maxError(a, b) {
  if (a.data.length !== b.data.length) throw new Error(`shapes differ: [${a.dims}] vs [${b.dims}]`);
  let max = 0;
  for (let i = 0; i < a.data.length; ++i) max = Math.max(max, Math.abs(a.data[i] - b.data[i]));
  return max;
}

// graph: the fixture folder, its inputs, and graph output -> [fixture output, transform].
const cases = {
  'clip-image': {fixture: 'clip-tiny', inputs: ['pixel_values'], outputs: {
    last_hidden_state: ['vision_model.last_hidden_state'], pooler_output: ['vision_model.pooler_output'],
    image_features: ['image_embeds', normaliseRows]}},
  'clip-text': {fixture: 'clip-tiny', inputs: ['input_ids', 'attention_mask'], outputs: {
    last_hidden_state: ['text_model.last_hidden_state'], pooler_output: ['text_model.pooler_output'],
    text_features: ['text_embeds', normaliseRows]}},
  layoutlm: {fixture: 'layoutlm-tiny-base', inputs: ['input_ids', 'bbox', 'attention_mask', 'token_type_ids'], outputs: {
    last_hidden_state: ['last_hidden_state'], pooler_output: ['pooler_output']}},
  wav2vec2: {fixture: 'wav2vec2-tiny-ctc', inputs: ['input_values'], outputs: {
    logits: ['logits'], last_hidden_state: ['last_hidden_state'], extract_features: ['extract_features']}},
};

async function main() {
  const [fixtures, onnxDir] = process.argv.slice(2);
  if (!onnxDir) throw new Error('usage: node check_parity.js FIXTURES_DIR ONNX_DIR');
  let failed = false;
  for (const [graph, c] of Object.entries(cases)) {
    const reference = readSafetensors(path.join(fixtures, c.fixture, 'reference.safetensors'));
    const feeds = Object.fromEntries(c.inputs.map((name) => [name, reference[`input.${name}`]]));
    const f32 = await (await openSession(path.join(onnxDir, `${graph}-tiny.onnx`))).run(feeds);
    for (const [name, [field, transform]] of Object.entries(c.outputs)) {
      const got = transform ? transform(f32[name]) : f32[name];
      const error = maxError(got, reference[`output.${field}`]);
      const ok = error <= 1e-4;
      failed ||= !ok;
      console.log(`${ok ? 'ok  ' : 'FAIL'} ${graph} ${name} vs HF ${field}: max |error| ${error.toExponential(2)}`);
    }
  }
  if (failed) process.exit(1);
}

main().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
