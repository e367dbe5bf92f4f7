// Times one benchmark row in ONNX Runtime: the feeds mmt_bench gives the same row
// (rows.js), 2 intra-op threads, ORT's full graph optimisation, warm. Prints one
// JSON line: the row, the median and the fastest run in ms, and the runs.
// Usage: node time_ort.js MODEL.onnx ROW [MIN_SECONDS]
'use strict';
const {feedsFor, openSession, rowPatterns} = require('./rows.js');

async function main() {
  const [model, row, minSeconds = '3'] = process.argv.slice(2);
  if (!row) throw new Error(`usage: node time_ort.js MODEL.onnx ROW [MIN_SECONDS]; ROW: ${rowPatterns}`);
  const feeds = feedsFor(row);
  const session = await openSession(model);
  for (let i = 0; i < 2; ++i) await session.run(feeds);  // warm: allocations, first-touch pages
  const times = [];
  const end = performance.now() + 1000 * Number(minSeconds);
  while (times.length < 5 || performance.now() < end) {
    const start = performance.now();
    await session.run(feeds);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({row, model, median_ms: times[times.length >> 1], min_ms: times[0], runs: times.length}));
}

main().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
