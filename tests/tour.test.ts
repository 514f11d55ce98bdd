/**
 * The stepping-through tools run: `deno task tour --no-pause` walks its nine stages on the shipped model, every
 * stage naming source files that exist; `deno task debug:sample` and `debug:train` start their runs (here
 * without the inspector, which would wait for a debugger) and get through them.
 */

import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url).pathname;
const ENV = { NO_COLOR: "1", LLADA_BACKEND: "cpu" };

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env: ENV,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/** A task's command line from deno.json. */
async function task(name: string): Promise<string> {
  const tasks = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)).tasks as Record<string, string>;
  assert.ok(tasks[name], `deno.json has no task ${name}`);
  return tasks[name];
}

/** Splits a task's `deno run …` command into arguments (double-quoted arguments kept whole). */
function denoArgs(command: string): string[] {
  const words = [...command.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]);
  assert.equal(words[0], "deno", `expected a deno command, got ${command}`);
  return words.slice(1);
}

Deno.test("tour: --no-pause walks the nine stages of a reverse and a training step", async () => {
  assert.equal(await task("tour"), "deno run -A src/tour.ts");
  const { code, stdout, stderr } = await run(denoArgs(await task("tour")).concat("--no-pause"));
  assert.equal(code, 0, stderr);
  const stages = [...stdout.matchAll(/^━━ (\d)\/9 {2}/gm)].map((m) => Number(m[1]));
  assert.deepEqual(stages, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.doesNotMatch(stdout, /\[Enter\]/);
  // Each stage names the files that computed what it shows; they must exist for the reader to open them.
  const files = new Set([...stdout.matchAll(/\((src\/[\w/]+\.ts)\)/g)].map((m) => m[1]));
  for (const file of ["src/llada/reverse_sampling.ts", "src/llada/forward_masking.ts", "src/tensor.ts"]) {
    assert.ok(files.has(file), `no stage names ${file}`);
  }
  for (const file of files) await Deno.stat(`${ROOT}${file}`);
  // The reverse step: a canvas of 13 prompt characters and 16 masks, two of them committed by the first step.
  assert.match(stdout, /^ {5}The jury said▒{16}$/m);
  assert.match(stdout, /^ {3}committed positions \d+, \d+: revealed tokens are final/m);
  assert.equal([...stdout.matchAll(/← committed/g)].length, 2);
  // The training step: one AdamW step lowers the loss on the batch it was computed from.
  const [, before, after] = stdout.match(/the loss on the same masked batch: (\d+\.\d+) → (\d+\.\d+)/)!;
  assert.ok(Number(after) < Number(before), `the loss went ${before} → ${after}`);
});

Deno.test("tour: an unknown option is refused with a usage line", async () => {
  const { code, stderr } = await run(denoArgs(await task("tour")).concat("--no-pauze"));
  assert.equal(code, 2);
  assert.match(stderr, /unknown option --no-pauze; did you mean --no-pause\?/);
});

Deno.test("debug:sample and debug:train start under --inspect-brk and, without it, run to the end", async () => {
  const sample = await task("debug:sample");
  assert.match(sample, /^deno run -A --inspect-brk src\/cli\.ts sample /);
  const sampled = await run(denoArgs(sample).filter((a) => a !== "--inspect-brk"));
  assert.equal(sampled.code, 0, sampled.stderr);
  assert.match(sampled.stdout, /^The jury said/m);

  const train = await task("debug:train");
  const [clean, command] = train.split(" && ");
  assert.equal(clean, "rm -rf runs/debug-train", "debug:train starts from an empty run directory");
  assert.match(command, /^deno run -A --inspect-brk src\/cli\.ts train /);
  const runDir = await Deno.makeTempDir();
  try {
    const args = denoArgs(command).filter((a) => a !== "--inspect-brk").map((a) =>
      a === "runs/debug-train" ? `${runDir}/run` : a
    );
    const trained = await run(args);
    assert.equal(trained.code, 0, trained.stderr);
    assert.match(trained.stdout + trained.stderr, /trained 3 steps/);
  } finally {
    await Deno.remove(runDir, { recursive: true });
  }
});
