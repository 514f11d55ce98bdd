/**
 * `llada sample`, `eval` and `chat` on a tiny saved model, run as subprocesses: the denoising trace shows the
 * masks disappearing step by step, and the other commands print their figures.
 */

import assert from "node:assert/strict";
import { saveTinyModel } from "./tiny_model.ts";

/** Plain output, and the CPU backend: these tests check behaviour, not speed, and need no GPU. */
const ENV = { NO_COLOR: "1", LLADA_BACKEND: "cpu" };
const cli = new URL("../src/cli.ts", import.meta.url).pathname;

async function run(
  args: string[],
  stdin?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", cli, ...args],
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: ENV,
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const out = await child.output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/** A tiny random model with a character tokenizer, saved as a model directory. */
async function tinyModelDir(): Promise<string> {
  return (await saveTinyModel()).dir;
}

const modelDir = await tinyModelDir();
globalThis.addEventListener("unload", () => Deno.removeSync(modelDir, { recursive: true }));

Deno.test({
  name: "sample --show-steps prints a trace whose masks disappear step by step",
  fn: async () => {
    const r = await run([
      "sample",
      "--model",
      modelDir,
      "--prompt",
      "abc",
      "--gen-length",
      "12",
      "--steps",
      "4",
      "--show-steps",
      "--logits-eos-inf",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const trace = r.stdout.split("\n").filter((l) => l.startsWith("step"));
    // The canvas before the first step, then one line per step.
    assert.equal(trace.length, 5, r.stdout);
    const masks = trace.map((l) =>
      [...l.slice(l.indexOf("│") + 1, l.lastIndexOf("│"))].filter((c) => c === "▒").length
    );
    assert.deepEqual(masks, [12, 9, 6, 3, 0]); // 12 masks, 4 steps: 3 revealed per step
    // The prompt stays in front of every canvas; the steps are numbered.
    for (const [i, line] of trace.entries()) {
      assert.match(line, new RegExp(`^step ${i}/4 │abc`));
    }
    // Status on stderr (the backend, the model, the evaluations); results on stdout.
    assert.match(r.stderr, /^backend: cpu — /m);
    assert.match(r.stderr, /\(4 network evaluations\)/);
    assert.doesNotMatch(r.stdout, /network evaluations|^backend:/m);
    // The final text: the prompt and 12 generated characters (EOS forbidden, so no early end).
    const text = r.stdout.trimEnd().split("\n").at(-1)!;
    assert.equal([...text].length, 15, text);
    assert.ok(text.startsWith("abc"));
  },
});

Deno.test("sample --mask-char and a too-long request; eval on a file and on an answer", async () => {
  const file = await Deno.makeTempFile({ suffix: ".txt" });
  await Deno.writeTextFile(file, "abc def gh. ".repeat(20));
  const [masked, tooLong, evalFile, evalAnswer] = await Promise.all([
    run([
      "sample",
      "--model",
      modelDir,
      "--gen-length",
      "4",
      "--steps",
      "2",
      "--show-steps",
      "--mask-char",
      "#",
    ]),
    run(["sample", "--model", modelDir, "--prompt", "abcabc", "--gen-length", "30"]),
    run(["eval", "--model", modelDir, "--file", file, "--seq-len", "16", "--mc-samples", "2"]),
    run(["eval", "--model", modelDir, "--prompt", "abc", "--answer", "de", "--mc-samples", "4"]),
  ]);
  assert.equal(masked.code, 0, masked.stderr);
  assert.match(masked.stdout, /^step 0\/2 │####│$/m);
  assert.equal(tooLong.code, 2);
  assert.match(
    tooLong.stderr,
    /^error: --gen-length: 30 tokens after a 6-token prompt exceed the model's max_sequence_length 32; pass at most 26, or a shorter prompt\n$/m,
  );
  assert.ok(tooLong.stderr.endsWith("or a shorter prompt\n"), "the error is the last line");
  assert.equal(evalFile.code, 0, evalFile.stderr);
  // A random model over 13 symbols + 5 specials: about log2(18) ≈ 4.2 bits/char, certainly between 2 and 8.
  const bpc = Number(
    /upper bound on the negative log-likelihood ([\d.]+) ± [\d.]+ bits\/char/.exec(evalFile.stdout)?.[1],
  );
  assert.ok(bpc > 2 && bpc < 8, evalFile.stdout);
  // 240 characters and an EOS packed into 15 windows of 16 tokens; the first token of each is context.
  assert.match(evalFile.stdout, /: 15 sequences of 16 tokens, 225 characters\n/);
  assert.match(evalFile.stdout, /bits\/char \(2 mask samples per sequence, seed 0\)/);
  assert.equal(evalAnswer.code, 0, evalAnswer.stderr);
  const ll = Number(/log p\(answer \| prompt\) ≥ (-[\d.]+)/.exec(evalAnswer.stdout)?.[1]);
  assert.ok(ll < 0 && ll > -20, evalAnswer.stdout);
  await Deno.remove(file);
});

Deno.test("chat answers every stdin line with the chat template and keeps the conversation", async () => {
  const r = await run(
    ["chat", "--model", modelDir, "--gen-length", "4", "--steps", "2"],
    "abc\n/reset\nde?\n\n",
  );
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split("\n");
  assert.equal(lines.filter((l) => l.startsWith("assistant: ")).length, 2, r.stdout);
  assert.ok(lines.includes("(conversation cleared)"));
});

Deno.test("a model's generation_config.json sets sampler defaults; command-line options win; bad values are one line", async () => {
  const dir = await tinyModelDir();
  await Deno.writeTextFile(
    `${dir}/generation_config.json`,
    JSON.stringify({ gen_length: 6, steps: 3, remasking: "random" }),
  );
  const masks = (stdout: string) =>
    stdout.split("\n").filter((l) => l.startsWith("step")).map((l) => [...l].filter((c) => c === "▒").length);
  const [fromFile, overridden] = await Promise.all([
    run(["sample", "--model", dir, "--show-steps"]),
    run(["sample", "--model", dir, "--show-steps", "--steps", "2"]),
  ]);
  assert.equal(fromFile.code, 0, fromFile.stderr);
  assert.deepEqual(masks(fromFile.stdout), [6, 4, 2, 0]);
  assert.equal(overridden.code, 0, overridden.stderr);
  assert.deepEqual(masks(overridden.stdout), [6, 3, 0]);
  await Deno.writeTextFile(`${dir}/generation_config.json`, JSON.stringify({ temperature: "hot" }));
  const bad = await run(["sample", "--model", dir]);
  assert.equal(bad.code, 2);
  assert.equal(
    bad.stderr,
    `error: ${dir}/generation_config.json: temperature: expected a number ≥ 0, got "hot"; fix or delete the field\n`,
  );
  await Deno.remove(dir, { recursive: true });
});
