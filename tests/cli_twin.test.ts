/**
 * The autoregressive twin on the command line: its config.json marks it, so `sample` decodes it left to right and
 * `eval` scores its exact NLL without `--causal`; asking for the other objective is refused with a clear error.
 */

import assert from "node:assert/strict";
import { CpuBackend } from "../src/backend/cpu.ts";
import { loadModel } from "../src/io/model_files.ts";
import { generateAutoregressive } from "../src/llada/autoregressive_sampling.ts";
import { saveTinyModel } from "./tiny_model.ts";

const cli = new URL("../src/cli.ts", import.meta.url).pathname;
const backend = new CpuBackend();

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", cli, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", LLADA_BACKEND: "cpu" },
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

// The twin and a mask predictor of the same shape and tokenizer.
const symbols = "abcdefgh ?'s.\n";
const { dir: twinDir, tokenizer } = await saveTinyModel({ symbols, causal: true });
const mdmDir = (await saveTinyModel({ symbols })).dir;
const textFile = await Deno.makeTempFile({ suffix: ".txt" });
await Deno.writeTextFile(textFile, "a bad cafe's beds. ".repeat(8));
globalThis.addEventListener("unload", () => {
  for (const p of [twinDir, mdmDir, textFile]) Deno.removeSync(p, { recursive: true });
});

Deno.test("sample decodes a twin left to right: greedy as the library's decoder, temperature per seed", async () => {
  const greedy = await run(["sample", "--model", twinDir, "--prompt", "ab", "--gen-length", "6"]);
  assert.equal(greedy.code, 0, greedy.stderr);
  const twin = await loadModel(twinDir, { backend });
  const { tokens } = await generateAutoregressive(twin, [tokenizer.encode("ab")], {
    genLength: 6,
    bosId: tokenizer.eosId,
    maskId: tokenizer.maskId,
  });
  const answer = tokens[0].slice(2);
  const end = answer.indexOf(tokenizer.eosId);
  const expected = "ab" + tokenizer.decode(end < 0 ? answer : answer.slice(0, end), { skipSpecial: true });
  assert.equal(greedy.stdout.trimEnd(), expected);

  const sampled = await run([
    "sample",
    "--model",
    twinDir,
    "--prompt",
    "a",
    "--temperature",
    "1",
    "--samples",
    "2",
    "--gen-length",
    "8",
  ]);
  assert.equal(sampled.code, 0, sampled.stderr);
  const again = await run([
    "sample",
    "--model",
    twinDir,
    "--prompt",
    "a",
    "--temperature",
    "1",
    "--samples",
    "2",
    "--gen-length",
    "8",
  ]);
  assert.equal(sampled.stdout, again.stdout);
  assert.equal(sampled.stdout.split("\n---\n").length, 2);
});

Deno.test("the reverse process's options, chat, and eval --causal on a mask predictor are refused", async () => {
  const steps = await run([
    "sample",
    "--model",
    twinDir,
    "--gen-length",
    "8",
    "--steps",
    "4",
    "--remasking",
    "random",
  ]);
  assert.equal(steps.code, 2);
  assert.match(steps.stderr, /autoregressive twin.*--steps, --remasking/);
  const chat = await run(["chat", "--model", twinDir]);
  assert.equal(chat.code, 2);
  assert.match(chat.stderr, /is an autoregressive twin; chat runs a mask predictor/);
  const causal = await run(["eval", "--model", mdmDir, "--causal", "--file", textFile]);
  assert.notEqual(causal.code, 0);
  assert.match(causal.stderr, /holds a mask predictor.*drop --causal/);
});

Deno.test("eval scores a twin by its exact NLL without --causal, and a mask predictor by its bound", async () => {
  const twin = await run(["eval", "--model", twinDir, "--file", textFile, "--seq-len", "16"]);
  assert.equal(twin.code, 0, twin.stderr);
  assert.match(twin.stdout, /: negative log-likelihood \d+\.\d+/);
  const withFlag = await run(["eval", "--model", twinDir, "--causal", "--file", textFile, "--seq-len", "16"]);
  assert.equal(withFlag.stdout, twin.stdout);
  const mdm = await run(["eval", "--model", mdmDir, "--file", textFile, "--seq-len", "16"]);
  assert.equal(mdm.code, 0, mdm.stderr);
  assert.match(mdm.stdout, /upper bound on the negative log-likelihood/);
});

Deno.test("sample on a twin takes --top-k and --early-stop: top-k 1 is greedy at any temperature", async () => {
  const args = ["sample", "--model", twinDir, "--prompt", "ab", "--gen-length", "6", "--json"];
  const [greedy, topOne, stopped] = await Promise.all([
    run(args),
    run([...args, "--temperature", "1", "--top-k", "1", "--seed", "4"]),
    run([...args, "--early-stop"]),
  ]);
  for (const r of [greedy, topOne, stopped]) assert.equal(r.code, 0, r.stderr);
  const [g, t, s] = [greedy, topOne, stopped].map((r) => JSON.parse(r.stdout));
  assert.deepEqual(t.tokens, g.tokens);
  assert.equal(g.strategy, "autoregressive");
  // Early stop ends at the first EOS: the same text, and no more evaluations than tokens up to it.
  assert.equal(s.completion, g.completion);
  const firstEos = (g.tokens as number[]).indexOf(tokenizer.eosId);
  assert.equal(s.nfe, firstEos < 0 ? 6 : firstEos + 1);
});

Deno.test("eval --compare scores the twin on the same windows as the mask predictor, with the ratio", async () => {
  const args = ["--file", textFile, "--seq-len", "16", "--mc-samples", "4", "--json"];
  const both = await run(["eval", "--model", mdmDir, "--compare", twinDir, ...args]);
  assert.equal(both.code, 0, both.stderr);
  const r = JSON.parse(both.stdout);
  const mdm = JSON.parse((await run(["eval", "--model", mdmDir, ...args])).stdout);
  const twin = JSON.parse((await run(["eval", "--model", twinDir, ...args])).stdout);
  // Each side is what scoring it alone gives: the same windows, characters, masks and seed.
  assert.equal(r.bits_per_char, mdm.bits_per_char);
  assert.equal(r.std_err, mdm.std_err);
  assert.equal(r.compare.bits_per_char, twin.bits_per_char);
  assert.equal(r.compare.measure, "negative log-likelihood");
  assert.equal(r.compare.mc_samples, null);
  assert.equal(r.characters, twin.characters);
  assert.equal(r.ratio, mdm.bits_per_char / twin.bits_per_char);
  const text = await run(["eval", "--model", mdmDir, "--compare", twinDir, ...args.slice(0, -1)]);
  assert.match(text.stdout, /ratio \(.+ \/ .+\): \d+\.\d{4}/);
});

Deno.test("eval refuses --compare with another tokenizer, with --answer, and an unknown --heldout", async () => {
  // A twin whose tokenizer has three more symbols: other ids for the same text.
  const other = (await saveTinyModel({ symbols: "xyz abcdefgh ?'s.\n", causal: true })).dir;
  try {
    const mismatch = await run([
      "eval",
      "--model",
      mdmDir,
      "--compare",
      other,
      "--file",
      textFile,
      "--seq-len",
      "16",
    ]);
    assert.equal(mismatch.code, 2);
    assert.match(mismatch.stderr, /another tokenizer.*same tokenizer/s);
  } finally {
    await Deno.remove(other, { recursive: true });
  }
  const answer = await run([
    "eval",
    "--model",
    mdmDir,
    "--compare",
    twinDir,
    "--prompt",
    "ab",
    "--answer",
    "c",
  ]);
  assert.equal(answer.code, 2);
  assert.match(answer.stderr, /--compare .* --file or --heldout/);
  const unknown = await run(["eval", "--model", mdmDir, "--heldout", "tang"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /--heldout tang.*use --heldout brown/s);
  const two = await run(["eval", "--model", mdmDir, "--heldout", "brown", "--file", textFile]);
  assert.equal(two.code, 2);
  assert.match(two.stderr, /exactly one of --file FILE, --heldout CORPUS or --answer/);
});

Deno.test("eval --heldout brown scores the held-out Brown documents cut as training cuts them", async () => {
  const shipped = new URL("../models/brown-char", import.meta.url).pathname;
  const r = await run([
    "eval",
    "--model",
    shipped,
    "--heldout",
    "brown",
    "--max-seqs",
    "2",
    "--mc-samples",
    "1",
    "--json",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const got = JSON.parse(r.stdout);
  const { loadBrown } = await import("../src/data/brown.ts");
  const { splitTrainValid } = await import("../src/data/split.ts");
  const { makeEvalSet } = await import("../src/train/eval.ts");
  const { tokenizerFromJSON } = await import("../src/tokenizer/tokenizer.ts");
  const tok = tokenizerFromJSON(await Deno.readTextFile(`${shipped}/tokenizer.json`));
  const { valid } = splitTrainValid((await loadBrown()).map((d) => d.text), { validFraction: 0.1, seed: 0 });
  const set = makeEvalSet(valid, tok, { length: 128, count: 2 });
  assert.equal(got.sequence_length, 128);
  assert.equal(got.sequences, 2);
  assert.equal(got.characters, set.charCount);
  assert.ok(got.bits_per_char > 0 && got.bits_per_char < 8, String(got.bits_per_char));
});
