/**
 * The CLI's conventions, run as a user runs them (a subprocess, from a directory outside the project): the
 * version, `help <command>`, results on stdout and status on stderr, `--json`, the prompt from a file or stdin,
 * the defaults a model's generation_config.json sets shown by `--help`, and user mistakes (damaged weights, a
 * corrupt tokenizer, unknown characters) as one `error:` line with exit code 2 that names the file or option.
 */

import assert from "node:assert/strict";

const cli = new URL("../src/cli.ts", import.meta.url).pathname;
const shipped = new URL("../models/brown-char", import.meta.url).pathname;
const ENV = { NO_COLOR: "1", LLADA_BACKEND: "cpu" };

/** Runs the CLI from the temporary directory (not the project), with optional standard input. */
async function run(
  args: string[],
  stdin = "",
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", cli, ...args],
    cwd: Deno.env.get("TMPDIR") ?? "/tmp",
    env: ENV,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(stdin));
  await writer.close();
  const out = await child.output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

Deno.test("--version prints the package version; help <command> is <command> --help", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  const [version, help, dashHelp] = await Promise.all([
    run(["--version"]),
    run(["help", "eval"]),
    run(["eval", "--help"]),
  ]);
  assert.equal(version.code, 0);
  assert.equal(version.stdout, `llada-ts ${config.version}\n`);
  assert.equal(help.code, 0);
  assert.equal(help.stdout, dashHelp.stdout);
  assert.match(help.stdout, /^deno task llada eval: /);
});

Deno.test("sample --help shows the defaults the model's generation_config.json sets", async () => {
  const r = await run(["sample", "--help"]);
  assert.equal(r.code, 0);
  assert.match(
    r.stdout,
    /--temperature <number>\s+.*\(default 0\.7, from the shipped model's generation_config\.json\)/,
  );
  assert.match(r.stdout, /\(default random, from the shipped model's generation_config\.json\)/);
  assert.match(
    r.stdout,
    /--gen-length <int>\s+.*\(default 64, capped to what fits the model after the prompt\)/,
  );
  // A model without generation_config.json: the built-in defaults.
  const dir = await Deno.makeTempDir();
  try {
    for (const f of ["config.json", "model.safetensors", "tokenizer.json"]) {
      await Deno.copyFile(`${shipped}/${f}`, `${dir}/${f}`);
    }
    const plain = await run(["sample", "--model", dir, "--help"]);
    assert.match(
      plain.stdout,
      /--temperature <number>\s+0: greedy; above 0: Gumbel-max sampling \(default 0\)$/m,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sample --json from another directory: one JSON line per sample on stdout, status on stderr", async () => {
  const r = await run(["sample", "--prompt", "The jury", "--gen-length", "8", "--samples", "2", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
  assert.equal(lines.length, 2);
  for (const line of lines) {
    assert.deepEqual(Object.keys(line), [
      "prompt",
      "completion",
      "tokens",
      "nfe",
      "strategy",
      "cache",
      "threshold",
      "factor",
      "backend",
      "model",
    ]);
    assert.equal(line.prompt, "The jury");
    // The shipped model's generation_config.json recommends random remasking; no cache or parallel rule given.
    assert.deepEqual([line.strategy, line.cache, line.threshold, line.factor], [
      "random",
      "none",
      null,
      null,
    ]);
    assert.equal(line.tokens.length, 8);
    assert.equal(line.nfe, 8);
    assert.equal(line.backend, "cpu");
    assert.equal(line.model, shipped);
  }
  assert.match(r.stderr, /^backend: cpu — .*\[requested "cpu"\]$/m);
  assert.match(r.stderr, new RegExp(`^model: ${shipped} \\(349,728 parameters\\)$`, "m"));
});

Deno.test("the prompt comes from a file or from stdin (-), without its final newline", async () => {
  const file = await Deno.makeTempFile();
  await Deno.writeTextFile(file, "He was\n");
  try {
    const [fromStdin, fromFile, both] = await Promise.all([
      run(["sample", "--prompt-file", "-", "--gen-length", "4", "--json"], "He was\n"),
      run(["sample", "--prompt-file", file, "--gen-length", "4", "--json"]),
      run(["sample", "--prompt-file", file, "--prompt", "x"]),
    ]);
    assert.equal(fromStdin.code, 0, fromStdin.stderr);
    assert.equal(JSON.parse(fromStdin.stdout).prompt, "He was");
    assert.equal(fromFile.stdout, fromStdin.stdout);
    assert.equal(both.code, 2);
    assert.equal(both.stderr, "error: give the prompt with --prompt or --prompt-file, not both\n");
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("a generation that does not fit the model is capped, with a note on stderr", async () => {
  const r = await run(["sample", "--prompt", "The jury said", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  // max_sequence_length 128, a 13-character prompt: the default 64 fits; ask a 100-character prompt instead.
  const long = "The jury said ".repeat(8).slice(0, 100);
  // Settings given explicitly are never changed: one that does not fit the adapted length is an error.
  const refused = await run(["sample", "--prompt", long, "--json", "--block-length", "16"]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /^error: --block-length: 16 does not divide --gen-length 28; /m);
  const adapted = await run(["sample", "--prompt", long, "--json"]);
  assert.equal(adapted.code, 0, adapted.stderr);
  assert.equal(JSON.parse(adapted.stdout).tokens.length, 28);
  assert.match(adapted.stderr, /^note: --gen-length 64 → 28: what fits the model's max_sequence_length 128/m);
});

Deno.test("eval --json: bits/char with its standard error; characters outside the vocabulary are counted", async () => {
  const text = "The jury said that the election was conducted — in the café — fairly. ".repeat(6);
  const r = await run([
    "eval",
    "--file",
    "-",
    "--json",
    "--seq-len",
    "32",
    "--max-seqs",
    "4",
    "--mc-samples",
    "4",
  ], text);
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout);
  assert.ok(result.bits_per_char > 1 && result.bits_per_char < 8, r.stdout);
  assert.ok(result.std_err > 0 && result.std_err < result.bits_per_char, r.stdout);
  assert.equal(result.left_out_characters, 18); // two "—" and one "é" per repetition
  assert.equal(result.sequences, 4);
  assert.match(r.stderr, /^note: left out 18 of \d+ characters .*\("—" ×12, "é" ×6\)$/m);
});

Deno.test("damaged weights, a corrupt tokenizer.json and unknown characters: exit 2, the file or option named", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const f of ["config.json", "model.safetensors", "tokenizer.json"]) {
      await Deno.copyFile(`${shipped}/${f}`, `${dir}/${f}`);
    }
    // A NaN in ln_f.weight, written where the safetensors header says the tensor's data starts.
    const bytes = await Deno.readFile(`${dir}/model.safetensors`);
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
    const [start] = header["model.transformer.ln_f.weight"].data_offsets;
    new DataView(bytes.buffer).setFloat32(8 + headerLength + start + 4 * 5, NaN, true);
    await Deno.writeFile(`${dir}/model.safetensors`, bytes);
    const nan = await run(["sample", "--model", dir]);
    assert.equal(nan.code, 2);
    assert.equal(
      nan.stderr,
      `error: ${dir}: model.transformer.ln_f.weight: holds NaN at element 5 (shape [96]); the weights are ` +
        `damaged or come from a run that diverged; use another checkpoint\n`,
    );
    await Deno.copyFile(`${shipped}/model.safetensors`, `${dir}/model.safetensors`);
    await Deno.writeTextFile(`${dir}/tokenizer.json`, '{"version": "1.0", "model": {');
    const corrupt = await run(["eval", "--model", dir, "--answer", "x"]);
    assert.equal(corrupt.code, 2);
    assert.match(
      corrupt.stderr,
      new RegExp(`^error: ${dir}/tokenizer\\.json: tokenizer\\.json is not valid JSON`),
    );
    const unknown = await run(["sample", "--prompt", "naïve"]);
    assert.equal(unknown.code, 2);
    assert.equal(
      unknown.stderr.trimEnd().split("\n").at(-1),
      `error: --prompt: character "ï" (U+00EF) at index 2 is not in the model's vocabulary; use only characters ` +
        `the model was trained on`,
    );
    assert.doesNotMatch(
      unknown.stderr + corrupt.stderr + nan.stderr,
      /CharTokenizer|loadModel|FromJSON|fromJSON/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
