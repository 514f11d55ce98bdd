/**
 * `llada sample`'s options of the extended sampler (`src/llada/strategies.ts`), run as subprocesses on a tiny
 * random model: each option changes what runs (the NFE, the tokens, what `--json` names), the cache refreshed
 * every step is the uncached sampler, infilling keeps the given text, and bad values are one-line errors.
 */

import assert from "node:assert/strict";
import { saveTinyModel } from "./tiny_model.ts";

/** Plain output, and the CPU backend: these tests check behaviour, not speed. */
const ENV = { NO_COLOR: "1", LLADA_BACKEND: "cpu" };
const cli = new URL("../src/cli.ts", import.meta.url).pathname;

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", cli, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: ENV,
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

const { dir } = await saveTinyModel();
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

/** `sample --json` on the tiny model: its one JSON line. */
async function sampleJson(args: string[]): Promise<Record<string, unknown>> {
  const r = await run(["sample", "--model", dir, "--json", "--logits-eos-inf", ...args]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

const BLOCKS = ["--prompt", "abc", "--gen-length", "16", "--block-length", "4"];

Deno.test("--threshold and --factor cut the NFE below the fixed schedule's; --json names the rule", async () => {
  const [fixed, threshold, factor, strict] = await Promise.all([
    sampleJson([...BLOCKS, "--steps", "16"]),
    sampleJson([...BLOCKS, "--threshold", "0.01"]),
    sampleJson([...BLOCKS, "--factor", "100"]),
    sampleJson([...BLOCKS, "--threshold", "1"]),
  ]);
  assert.equal(fixed.nfe, 16);
  assert.deepEqual([fixed.strategy, fixed.cache, fixed.threshold, fixed.factor], [
    "low_confidence",
    "none",
    null,
    null,
  ]);
  // A random model over 18 tokens is never 1 % sure of nothing, nor 100 % sure: every block in one step, or one
  // token per step.
  assert.equal(threshold.nfe, 4);
  assert.equal(threshold.threshold, 0.01);
  assert.equal(factor.nfe, 4);
  assert.deepEqual([factor.factor, factor.threshold], [100, null]);
  assert.equal(strict.nfe, 16);
});

Deno.test("--cache dual refreshed every step gives the uncached tokens; --cache prefix runs with the same NFE", async () => {
  const [none, dual, dualRefreshed, prefix] = await Promise.all([
    sampleJson([...BLOCKS, "--steps", "8"]),
    sampleJson([...BLOCKS, "--steps", "8", "--cache", "dual"]),
    sampleJson([...BLOCKS, "--steps", "8", "--cache", "dual", "--cache-refresh", "1"]),
    sampleJson([...BLOCKS, "--steps", "8", "--cache", "prefix"]),
  ]);
  assert.deepEqual(dualRefreshed.tokens, none.tokens);
  assert.deepEqual([none.cache, dual.cache, dualRefreshed.cache, prefix.cache], [
    "none",
    "dual",
    "dual",
    "prefix",
  ]);
  for (const r of [none, dual, dualRefreshed, prefix]) assert.equal(r.nfe, 8);
  assert.equal((dual.tokens as number[]).length, 16);
});

Deno.test("--top-k 1 at temperature 1 is greedy decoding; --strategy ancestral and remdm run and are named", async () => {
  const [greedy, sampled, topOne, ancestral, remdm] = await Promise.all([
    sampleJson([...BLOCKS, "--steps", "8", "--temperature", "0"]),
    sampleJson([...BLOCKS, "--steps", "8", "--temperature", "1", "--seed", "5"]),
    sampleJson([...BLOCKS, "--steps", "8", "--temperature", "1", "--seed", "5", "--top-k", "1"]),
    sampleJson([...BLOCKS, "--steps", "8", "--strategy", "ancestral", "--seed", "1"]),
    sampleJson([...BLOCKS, "--steps", "8", "--strategy", "remdm", "--remask", "1"]),
  ]);
  assert.deepEqual(topOne.tokens, greedy.tokens);
  assert.notDeepEqual(sampled.tokens, greedy.tokens);
  assert.equal(ancestral.strategy, "ancestral");
  // Algorithm 4: at most the steps' evaluations (a block ends when its masks run out), every mask revealed.
  assert.ok((ancestral.nfe as number) <= 8 && (ancestral.nfe as number) >= 4, String(ancestral.nfe));
  assert.equal((ancestral.tokens as number[]).length, 16);
  assert.equal(remdm.strategy, "remdm");
  assert.equal(remdm.nfe, 8);
});

Deno.test("--infill fills the [MASK] holes and keeps the rest; --suffix keeps the text after the generation", async () => {
  const [filled, trace, between] = await Promise.all([
    sampleJson(["--infill", "ab[MASK][MASK] c[MASK]"]),
    run(["sample", "--model", dir, "--infill", "ab[MASK][MASK] c[MASK]", "--show-steps", "--steps", "3"]),
    run([
      "sample",
      "--model",
      dir,
      "--prompt",
      "ab",
      "--suffix",
      " cd.",
      "--gen-length",
      "6",
      "--logits-eos-inf",
    ]),
  ]);
  assert.equal(filled.nfe, 3); // one step per hole by default
  assert.equal(filled.infill, "ab[MASK][MASK] c[MASK]");
  const text = filled.completion as string;
  assert.equal([...text].length, 7, text);
  assert.ok(text.startsWith("ab") && text.slice(4, 6) === " c", text);
  assert.equal(trace.code, 0, trace.stderr);
  const masks = trace.stdout.split("\n").filter((l) => l.startsWith("step")).map((l) =>
    [...l].filter((c) => c === "▒").length
  );
  assert.deepEqual(masks, [3, 2, 1, 0]);
  assert.equal(between.code, 0, between.stderr);
  const line = between.stdout.trimEnd();
  assert.ok(line.startsWith("ab") && line.endsWith(" cd.") && [...line].length === 12, line);
});

Deno.test("bad strategy options are one-line usage errors (exit 2) saying what to do", async () => {
  const cases: [string[], RegExp][] = [
    [["--strategy", "greedy"], /--strategy must be one of low_confidence, .*ancestral, remdm; got "greedy"/],
    [
      ["--threshold", "0.9", "--factor", "1"],
      /--threshold and --factor are two parallel decoding rules; give one/,
    ],
    [["--strategy", "ancestral", "--factor", "1"], /ancestral .* takes --steps, not --factor/],
    [["--remask", "0.2"], /--remask is ReMDM's cap η: give it with --strategy remdm/],
    [
      ["--top-k", "3"],
      /--top-k filters temperature sampling, and the temperature is 0: give --temperature > 0/,
    ],
    [["--top-p", "1.5", "--temperature", "1"], /--top-p must be in \(0, 1\], got 1.5/],
    [["--factor", "0"], /--factor must be above 0/],
    [["--cache", "both"], /--cache must be one of none, prefix, dual/],
    [["--cache-refresh", "2"], /--cache-refresh refreshes a KV cache: give --cache prefix or dual/],
    [["--cache", "dual", "--cfg", "1"], /--cfg runs without a KV cache/],
    [["--strategy", "margin", "--remasking", "random"], /name two rankings; give one of them/],
    [["--infill", "abc"], /--infill: has no \[MASK\] to fill; write \[MASK\] where/],
    [["--infill", "a[MASK]", "--prompt", "b"], /--infill gives the whole canvas .*: drop --prompt/],
    [
      ["--infill", "ab[MASK]", "--block-length", "2"],
      /--block-length: 2 does not divide the canvas's 3 tokens/,
    ],
  ];
  const results = await Promise.all(cases.map(([args]) => run(["sample", "--model", dir, ...args])));
  results.forEach((r, i) => {
    assert.equal(r.code, 2, `${cases[i][0].join(" ")}: ${r.stderr}`);
    const last = r.stderr.trimEnd().split("\n").at(-1)!;
    assert.match(last, /^error: /);
    assert.match(last, cases[i][1]);
  });
});
