/**
 * Train a tiny mask predictor from scratch with the library's trainer, on a few Brown documents, and watch the
 * held-out bound fall.
 *
 *     deno run -A examples/train_tiny.ts [steps] [run-dir]
 *
 * The run directory (default: a temporary one) gets `metrics.jsonl` and a checkpoint that
 * `deno task llada sample --model <run-dir>` can sample from.
 *
 * @module
 */

import {
  CharTokenizer,
  createModel,
  heldOutBitsPerChar,
  loadBrown,
  makeEvalSet,
  packSequences,
  train,
  trainSettings,
  useBackend,
} from "../mod.ts";

const steps = Number(Deno.args[0] ?? 200);
const runDir = Deno.args[1] ?? await Deno.makeTempDir({ prefix: "llada-tiny-" });
const length = 32;

const { name } = await useBackend();
console.log(`backend: ${name}`);

// Data: 20 documents to train on, 2 held out; one id per character.
const docs = (await loadBrown()).slice(0, 22).map((d) => d.text);
const tokenizer = CharTokenizer.fromTexts(docs);
const rows = packSequences(docs.slice(0, 20).map((t) => tokenizer.encode(t)), length);
const evalSet = makeEvalSet(docs.slice(20), tokenizer, { length, count: 8 });

// A two-layer mask predictor with LLaDA's config fields.
const model = await createModel({
  d_model: 64,
  n_layers: 2,
  n_heads: 4,
  mlp_hidden_size: 128,
  vocab_size: tokenizer.vocabSize,
  max_sequence_length: length,
  mask_token_id: tokenizer.maskId,
  eos_token_id: tokenizer.eosId,
  pad_token_id: tokenizer.padId,
}, { seed: 0 });

const before = await heldOutBitsPerChar(model, evalSet, { mcSamples: 4 });
const result = await train({
  model,
  data: rows,
  settings: trainSettings({
    steps,
    batchSize: 16,
    lr: 3e-3,
    warmupSteps: Math.ceil(steps / 10),
    logEvery: steps,
  }),
  runDir,
  tokenizerJSON: JSON.stringify(tokenizer.toJSON()),
});
const after = await heldOutBitsPerChar(model, evalSet, { mcSamples: 4 });
console.log(result.message);
console.log(
  `held-out bound: ${before.toFixed(3)} → ${after.toFixed(3)} bits/char after ${result.step} steps`,
);
console.log(`run directory: ${runDir}`);
