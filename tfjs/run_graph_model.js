'use strict';
// Runs a TF.js graph model in Node for hubzoo (modules/tfjs_node.py drives it).
//
//   node run_graph_model.js URL BACKEND
//
// Loads the model by URL the way a web page does, tf.loadGraphModel(URL, {fromTFHub: true}), on
// BACKEND ("wasm" or "cpu"), then answers predict requests. Messages on stdin and stdout are
// frames: a 4-byte little-endian length, that many bytes of JSON header, then `header.bytes`
// bytes of payload. The first frame out describes the loaded model; each request
// {"shape": [...], "bytes": n} + float32 images gets {"shape": [...], "bytes": n, "ms": t} +
// float32 outputs back, or {"error": "..."}. stdout carries frames only.

console.log = console.error; // TF.js greets Node users with console.log; keep stdout for frames
const tf = require('@tensorflow/tfjs');
const wasm = require('@tensorflow/tfjs-backend-wasm');

function writeFrame(header, payload = Buffer.alloc(0)) {
  const json = Buffer.from(JSON.stringify({...header, bytes: payload.length}));
  const length = Buffer.alloc(4);
  length.writeUInt32LE(json.length);
  process.stdout.write(Buffer.concat([length, json, payload]));
}

function tensorFacts(tensors) {
  return tensors.map((t) => ({name: t.name, dtype: t.dtype, shape: t.shape}));
}

async function predict(model, header, payload) {
  const values = new Float32Array(payload.buffer.slice(
      payload.byteOffset, payload.byteOffset + payload.length));
  const images = tf.tensor(values, header.shape, 'float32');
  const started = process.hrtime.bigint();
  const output = model.predict(images);
  if (!(output instanceof tf.Tensor)) {
    tf.dispose([images, output]);
    throw new Error('the model has more than one output');
  }
  const data = await output.data();
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const reply = {shape: output.shape, dtype: output.dtype, ms};
  tf.dispose([images, output]);
  return [reply, Buffer.from(data.buffer, data.byteOffset, data.byteLength)];
}

async function main() {
  const [url, backend] = process.argv.slice(2);
  await tf.setBackend(backend);
  await tf.ready();
  const model = await tf.loadGraphModel(url, {fromTFHub: true});
  writeFrame({
    tfjs: tf.version.tfjs, node: process.version, backend: tf.getBackend(),
    threads: tf.getBackend() === 'wasm' ? wasm.getThreadsCount() : 1,
    inputs: tensorFacts(model.inputs), outputs: tensorFacts(model.outputs),
    metadata: model.metadata || null,
  });
  let pending = Buffer.alloc(0);
  let busy = Promise.resolve();
  process.stdin.on('data', (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 4) {
      const headerLength = pending.readUInt32LE(0);
      if (pending.length < 4 + headerLength) break;
      const header = JSON.parse(pending.subarray(4, 4 + headerLength).toString());
      const end = 4 + headerLength + header.bytes;
      if (pending.length < end) break;
      const payload = Buffer.from(pending.subarray(4 + headerLength, end));
      pending = pending.subarray(end);
      busy = busy.then(() => predict(model, header, payload))
          .then(([reply, data]) => writeFrame(reply, data))
          .catch((error) => writeFrame({error: String(error.message || error)}));
    }
  });
}

main().catch((error) => {
  writeFrame({error: String(error.message || error)});
  process.exitCode = 1;
});
