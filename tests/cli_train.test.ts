/**
 * `llada train` as a user runs it: a short run on a synthetic corpus writes metrics and a checkpoint; Ctrl-C
 * (SIGINT) finishes the step, saves and exits with code 130; `--resume` then completes the run.
 */

import assert from "node:assert/strict";

/** Plain output, and the CPU backend: these tests check behaviour, not speed, and need no GPU. */
const ENV = { NO_COLOR: "1", LLADA_BACKEND: "cpu" };
const cli = new URL("../src/cli.ts", import.meta.url).pathname;
const decode = (b: Uint8Array) => new TextDecoder().decode(b);

/** A small, fast run: a 1-layer 16-wide network, 200 synthetic examples, short warmup and decay. */
const TINY_RUN = (corpus: string, seqLen: number) =>
  `train --corpus ${corpus} --count 200 --d-model 16 --layers 1 --heads 2 --mlp 24 --seq-len ${seqLen} --batch 4 ` +
  `--eval-seqs 4 --eval-samples 2 --log-every 1 --warmup 1 --decay 1`;

Deno.test("train, Ctrl-C, --resume: the run stops cleanly with a checkpoint and then completes", async () => {
  const runDir = await Deno.makeTempDir();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", cli, ...TINY_RUN("copy", 16).split(" "), "--steps", "400", "--run-dir", runDir],
    stdout: "piped",
    stderr: "piped",
    env: ENV,
  }).spawn();
  // Wait until training is under way (the plain-text progress prints a line per step), then press Ctrl-C.
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let stdout = "";
  while (!/^step\s+3\/400/m.test(stdout)) {
    const { value, done } = await reader.read();
    if (done) break;
    stdout += value;
  }
  child.kill("SIGINT");
  for (let r = await reader.read(); !r.done; r = await reader.read()) stdout += r.value;
  const status = await child.status;
  const stderr = decode(new Uint8Array(await new Response(child.stderr).arrayBuffer()));
  assert.equal(status.code, 130, stdout + stderr);
  assert.match(stderr, /Ctrl-C: finishing this step and saving a checkpoint/);
  const stopped = /interrupted at step (\d+)\/400; checkpoint saved to .*; continue with --resume/.exec(
    stdout + stderr,
  );
  assert.ok(stopped, stdout + stderr);
  const step = Number(stopped[1]);
  assert.ok(step >= 3 && step < 400);
  const state = JSON.parse(await Deno.readTextFile(`${runDir}/checkpoint/trainer_state.json`));
  assert.equal(state.step, step);

  // Resume, changing only the length of the run: finish at step + 2.
  const resumed = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", cli, "train", "--run-dir", runDir, "--resume", "--steps", String(step + 2)],
    stdout: "piped",
    stderr: "piped",
    env: ENV,
  }).output();
  assert.equal(resumed.code, 0, decode(resumed.stderr));
  assert.match(decode(resumed.stdout), new RegExp(`resuming at step ${step}/${step + 2}`));
  const lines = (await Deno.readTextFile(`${runDir}/metrics.jsonl`)).trim().split("\n").map((l) =>
    JSON.parse(l)
  );
  assert.deepEqual(lines.map((l) => l.step), Array.from({ length: step + 2 }, (_, i) => i + 1));
  assert.ok("eval_bpc" in lines.at(-1)!);

  // --resume keeps the run's settings: changing one is a one-line error.
  const conflict = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", cli, "train", "--run-dir", runDir, "--resume", "--lr", "0.1"],
    stdout: "piped",
    stderr: "piped",
    env: ENV,
  }).output();
  assert.equal(conflict.code, 2);
  assert.equal(
    decode(conflict.stderr),
    "error: --resume continues the run with its saved settings; drop --lr\n",
  );
  await Deno.remove(runDir, { recursive: true });
});

Deno.test("train --objective sft on reversal facts, then chat with the model", async () => {
  const runDir = await Deno.makeTempDir();
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      cli,
      ...TINY_RUN("reversal", 48).split(" "),
      "--objective",
      "sft",
      "--steps",
      "3",
      "--run-dir",
      runDir,
    ],
    stdout: "piped",
    stderr: "piped",
    env: ENV,
  }).output();
  assert.equal(out.code, 0, decode(out.stderr));
  assert.match(decode(out.stdout), /reversal \(SFT\): 360 train \/ 40 valid pairs, rows of 48 tokens/);
  assert.match(decode(out.stdout), /held-out bound: [\d.]+ bits\/char/);
  const chat = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", cli, "chat", "--model", runDir, "--gen-length", "8", "--steps", "4"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: ENV,
  }).spawn();
  const writer = chat.stdin.getWriter();
  // The middle line has a character outside the vocabulary: one error line, and the chat goes on.
  await writer.write(
    new TextEncoder().encode("Heve is\nAnd the child?\nis the potter of Tarosa.\n"),
  );
  await writer.close();
  const answered = await chat.output();
  assert.equal(answered.code, 0, decode(answered.stderr));
  assert.equal(decode(answered.stdout).match(/^assistant: /gm)?.length, 2, decode(answered.stdout));
  assert.match(
    decode(answered.stderr),
    /^error: your message: character "A" \(U\+0041\) at index 0 is not in the model's vocabulary/m,
  );
  await Deno.remove(runDir, { recursive: true });
});
