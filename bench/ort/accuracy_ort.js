// What ONNX Runtime's int8 graph costs in accuracy on one row, against its float32
// graph on the same feeds: the figures bench_accuracy.cpp prints for mmt. For CLIP,
// the smallest cosine over the batch of the embeddings; for a model with logits
// (LayoutLM's token classifier, wav2vec2's CTC head), the fraction of argmax labels
// unchanged and the RMS of the logits' change over the RMS of the logits. Prints one
// JSON line.
// Usage: node accuracy_ort.js F32.onnx INT8.onnx ROW
'use strict';
const {feedsFor, openSession} = require('./rows.js');

// Rows of the last dimension of an output tensor.
function rows(t) {
  const width = t.dims[t.dims.length - 1], out = [];
  for (let r = 0; r < t.data.length / width; ++r) out.push(t.data.subarray(r * width, (r + 1) * width));
  return out;
}

function cosine(a, b) {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; ++i) ab += a[i] * b[i], aa += a[i] * a[i], bb += b[i] * b[i];
  return ab / Math.sqrt(aa * bb);
}

function argmax(row) {
  let best = 0;
  for (let i = 1; i < row.length; ++i) if (row[i] > row[best]) best = i;
  return best;
}

async function main() {
  const [f32Model, int8Model, row] = process.argv.slice(2);
  if (!row) throw new Error('usage: node accuracy_ort.js F32.onnx INT8.onnx ROW');
  const feeds = feedsFor(row);
  const f32 = await (await openSession(f32Model)).run(feeds);
  const int8 = await (await openSession(int8Model)).run(feeds);
  const figures = {row};
  const embedding = ['image_features', 'text_features'].find((name) => name in f32);
  if (embedding) {
    const a = rows(f32[embedding]), b = rows(int8[embedding]);
    figures.cosine = Math.min(...a.map((r, i) => cosine(r, b[i])));
  } else {
    if (!('logits' in f32)) throw new Error(`${f32Model} has neither embeddings nor logits`);
    const a = rows(f32.logits), b = rows(int8.logits);
    figures.labels_unchanged = a.filter((r, i) => argmax(r) === argmax(b[i])).length / a.length;
    let change = 0, size = 0;
    f32.logits.data.forEach((v, i) => (change += (int8.logits.data[i] - v) ** 2, size += v * v));
    figures.logit_error = Math.sqrt(change / size);
  }
  console.log(JSON.stringify(figures));
}

main().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
