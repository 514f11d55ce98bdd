/**
 * The CLI's error paths: every user mistake is one clear line on stderr and a non-zero exit code, never a stack
 * trace. The CLI runs as a subprocess, as a user would run it.
 */

import assert from "node:assert/strict";

/** Plain output, and the CPU backend: these tests check behaviour, not speed, and need no GPU. */
const ENV = { NO_COLOR: "1", LLADA_BACKEND: "cpu" };
const cli = new URL("../src/cli.ts", import.meta.url).pathname;
const demo = new URL("../src/demo.ts", import.meta.url).pathname;

/** Runs a script with arguments; returns its exit code and output. */
async function run(
  script: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, ...args],
    stdout: "piped",
    stderr: "piped",
    env: ENV,
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/** The cases: arguments, the expected exit code, and what the one line must say. */
const cases: [string, string[], number, RegExp][] = [
  [cli, ["trian"], 2, /^error: unknown command "trian"; did you mean train\?$/],
  [cli, ["train", "--stpes", "5"], 2, /^error: train: unknown option --stpes; did you mean --steps\?$/],
  [cli, ["train", "--steps", "abc"], 2, /^error: --steps expects an integer, got "abc"$/],
  [cli, ["train", "--steps", "1.5"], 2, /^error: --steps expects an integer, got "1.5"$/],
  [cli, ["train", "--lr", "-1"], 2, /^error: --lr must be at least 0, got -1$/],
  [cli, ["train", "--batch"], 2, /^error: train: --batch needs a value \(int\)$/],
  [
    cli,
    ["train", "--objective", "rl"],
    2,
    /^error: --objective must be one of pretrain, sft, autoregressive; got "rl"$/,
  ],
  [cli, ["train", "extra"], 2, /^error: train: unexpected argument "extra"; options start with --/],
  [
    cli,
    ["train", "--corpus", "/no/such/corpus.txt", "--steps", "1"],
    2,
    /^error: corpus "\/no\/such\/corpus.txt": is neither one of brown, tang, copy, reversal, synthetic nor an existing file; give one of/,
  ],
  [
    cli,
    ["train", "--resume", "--run-dir", "/no/such/run"],
    2,
    /^error: there is no checkpoint to resume in \/no\/such\/run\/checkpoint; start without --resume$/,
  ],
  [
    cli,
    ["sample", "--model", "/no/such/model"],
    2,
    /^error: \/no\/such\/model: does not exist; give a model directory/,
  ],
  [
    cli,
    ["sample", "--remasking", "best"],
    2,
    /^error: --remasking must be one of low_confidence, random, margin, entropy; got "best"$/,
  ],
  [
    cli,
    ["sample", "--show-steps=maybe"],
    2,
    /^error: --show-steps is a flag; give it alone, or as --show-steps=true \/ --show-steps=false$/,
  ],
  [
    cli,
    ["eval", "--file", "/no/such/file.txt"],
    2,
    /^error: --file \/no\/such\/file.txt: does not exist; give a readable UTF-8 text file/,
  ],
  [
    cli,
    ["eval"],
    2,
    /^error: eval needs exactly one of --file FILE, --heldout CORPUS or --answer TEXT \(with --prompt\)$/,
  ],
  [cli, ["chat"], 2, /^error: chat needs an SFT model: --model DIR/],
  [
    cli,
    ["bench", "--size", "huge"],
    2,
    /^error: --size must be one of tiny, small, medium, large; got "huge"$/,
  ],
  [cli, ["sample", "--backend", "tpu"], 2, /^error: --backend must be one of auto, cpu, webgpu; got "tpu"$/],
  [demo, ["--step", "3"], 2, /^error: demo: unknown option --step; did you mean --steps\?$/],
];

Deno.test("every CLI mistake is one line on stderr with a non-zero exit code", async () => {
  const results = await Promise.all(cases.map(([script, args]) => run(script, args)));
  results.forEach((r, i) => {
    const [, args, code, pattern] = cases[i];
    const what = `llada ${args.join(" ")}`;
    assert.equal(r.code, code, `${what}: exit code ${r.code}, stderr ${r.stderr}`);
    const lines = r.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, `${what}: expected one line, got:\n${r.stderr}`);
    assert.match(lines[0], pattern, what);
    assert.doesNotMatch(r.stderr, /\bat .*\.ts:\d+/, `${what}: a stack trace`);
  });
});

Deno.test("--help prints a command's options and exits 0; no command prints the usage and exits 2", async () => {
  const [help, none, sampleHelp] = await Promise.all([
    run(cli, ["train", "--help"]),
    run(cli, []),
    run(cli, ["sample", "--help"]),
  ]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--steps <int>\s+optimiser steps \(default 1000\)/);
  assert.match(help.stdout, /--resume\s+continue the run/);
  assert.equal(none.code, 2);
  assert.match(none.stdout, /Commands:\n\s+train/);
  assert.equal(sampleHelp.code, 0);
  assert.match(sampleHelp.stdout, /--show-steps\s+print the denoising trace/);
  assert.match(sampleHelp.stdout, /--remasking <low_confidence\|random\|margin\|entropy>/);
});
