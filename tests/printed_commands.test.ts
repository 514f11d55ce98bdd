/**
 * Every command the project prints works as printed: the commands in the README, the guides in `docs/`, the
 * model card, the examples of each `--help`, and the demo's closing suggestion are collected from where a reader
 * sees them and run, each expected to exit 0.
 *
 * What the test changes, and only that: settings that make a run short (a demo or training run of 2 steps,
 * smaller batches, fewer held-out sequences, one sample of 8 steps where the steps are left to the default, a benchmark of one
 * small step), where runs are written (`runs/…` and `--export` go to a
 * temporary directory, so `runs/demo` is the demo run this test makes first), and the CPU backend unless a
 * command names one (`--backend webgpu` falls back to the CPU only where no adapter exists). A few commands
 * are not run, each for a stated reason in {@link NOT_RUN}; the test fails if the project prints a command that
 * is neither run nor listed there.
 */

import assert from "node:assert/strict";
import { probeAdapter } from "./adapter_probe.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** Printed commands that are not run here, with why. Matched against the normalised command. */
const NOT_RUN: [RegExp, string][] = [
  [/^deno task test$/, "the test suite itself"],
  [/^deno task check$/, "the first half of deno task test, which runs it before this test"],
  [/^deno test\b/, "a single test file: the suite runs every test file"],
  [/^deno task bench( |$)/, "the benchmark suite (and its --profile) runs for minutes by design"],
  [
    /^deno task lab( |$)/,
    "the sampler lab's full grid runs for minutes; tests/sampling_lab.test.ts runs its --quick grid",
  ],
  [
    /^deno task mutate( |$)/,
    "the mutation sweep runs the suite once per surviving mutant, so it is not part of the suite",
  ],
  [
    /^deno task llada reversal( |$)/,
    "a reversal run trains two models per seed for minutes; tests/experiments_reversal.test.ts runs the " +
    "synthetic preset end to end with a few training steps",
  ],
  [
    /^deno task llada data-constrained( |$)/,
    "the sweep trains eight models for up to two hours; tests/experiments_data_constrained.test.ts runs its " +
    "one-epoch cells from the command line",
  ],
  [/^deno jupyter --install/, "registers a Jupyter kernel in the user's configuration"],
  [
    /^deno task notebooks( |$)/,
    "re-executes every notebook in place for minutes; tests/notebooks.test.ts executes them into a temporary " +
    "directory and compares their outputs with the stored ones",
  ],
  [/^deno task debug:/, "starts Deno under --inspect-brk, which waits for a debugger to attach"],
  [
    /^deno task playground( |$)/,
    "serves the page until stopped; tests/playground_browser.test.ts builds it, serves it and drives it in Chromium",
  ],
];

/** The markdown files whose commands are checked. */
async function markdownFiles(): Promise<string[]> {
  const files = ["README.md", "models/brown-char/README.md"];
  for await (const entry of Deno.readDir(`${ROOT}docs`)) {
    if (entry.isFile && entry.name.endsWith(".md")) files.push(`docs/${entry.name}`);
  }
  return files.sort();
}

/** `npx -y deno@2.9.6 …` and `deno …` are the same command; the test runs the Deno binary it runs under. */
function normalise(command: string): string {
  return command.replace(/(^|\|\s*)npx -y deno@2\.9\.6 /g, "$1deno ").replace(/\s+/g, " ").trim();
}

/** Whether a line of a code block is a command of this project (Deno's, possibly after a pipe). */
function isDenoCommand(text: string): boolean {
  return /^(npx -y deno@2\.9\.6|deno) \S/.test(text) || /\| (npx -y deno@2\.9\.6|deno) task /.test(text);
}

/**
 * Whether an inline code span is a whole command: one pinned with `npx -y deno@2.9.6 …`, or a `deno task …`
 * (prose also names Deno's subcommands, as in "under `deno test`", which are not commands to run).
 */
function isInlineCommand(text: string): boolean {
  return /^npx -y deno@2\.9\.6 \S/.test(text) || /^deno task \w/.test(text);
}

/**
 * The commands in a markdown text: lines of fenced code blocks (a trailing `\` continues a line; a `#` comment
 * after two spaces is dropped) and inline code spans that are whole commands.
 */
export function commandsInMarkdown(text: string): string[] {
  const out: string[] = [];
  let fenced = false;
  let pending = "";
  for (const line of text.split("\n")) {
    if (/^\s*```/.test(line)) {
      fenced = !fenced;
      continue;
    }
    if (fenced) {
      const joined = pending + line.replace(/\s{2,}#.*$/, "").trim();
      if (joined.endsWith("\\")) {
        pending = joined.slice(0, -1).trimEnd() + " ";
        continue;
      }
      pending = "";
      if (isDenoCommand(joined)) out.push(joined);
    } else {
      for (const m of line.matchAll(/`([^`]+)`/g)) if (isInlineCommand(m[1])) out.push(m[1]);
    }
  }
  return out;
}

/** Runs `command` with bash from the project root; returns its exit code, its stdout and all its output. */
async function sh(
  command: string,
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; out: string; seconds: number }> {
  const began = performance.now();
  const child = new Deno.Command("bash", {
    args: ["-c", command],
    cwd: ROOT,
    env: { NO_COLOR: "1", DENO: Deno.execPath(), ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 180_000);
  const result = await child.output();
  clearTimeout(timer);
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  const stdout = decode(result.stdout);
  return {
    code: result.code,
    stdout,
    out: stdout + decode(result.stderr),
    seconds: (performance.now() - began) / 1000,
  };
}

/** Sets `--name value` in a command (replacing a value already given), before any trailing comment. */
function setOption(command: string, name: string, value: string | number): string {
  const re = new RegExp(`--${name}(=|\\s+)\\S+`);
  return re.test(command) ? command.replace(re, `--${name} ${value}`) : `${command} --${name} ${value}`;
}

/**
 * The command as the test runs it: the Deno binary under test, runs and exports in `tmp`, short settings
 * (see the module documentation).
 */
function prepare(
  command: string,
  tmp: string,
  hasAdapter: boolean,
): { line: string; env: Record<string, string> } {
  let line = command
    .replace(/(^|\|\s*)deno /g, '$1"$DENO" ')
    .replace(/(?<![\w/.-])runs\/([\w.-]+)/g, `${tmp}/runs/$1`)
    .replace(/--export(=|\s+)(\S+)/g, (_, _sep, dir) => `--export ${tmp}/export/${dir.replaceAll("/", "_")}`);
  const task = /"\$DENO" task (demo|llada (\w+)|train|sample|eval)\b/.exec(line);
  const name = task?.[2] ?? task?.[1];
  const resume = /--resume\b/.test(line);
  if (name === "demo") {
    if (!resume) line = setOption(line, "steps", 2);
    if (!/--run-dir/.test(line)) line = setOption(line, "run-dir", `${tmp}/runs/demo`);
  } else if (name === "train") {
    line = setOption(line, "steps", resume ? 3 : 2);
    if (!resume) line = setOption(setOption(line, "eval-seqs", 2), "batch", 4);
    if (!/--run-dir/.test(line)) {
      line = setOption(line, "run-dir", `${tmp}/runs/train-${crypto.randomUUID()}`);
    }
  } else if (name === "sample") {
    line = setOption(line, "samples", 1);
    // Fewer steps where the command leaves them to the default (one per token); one block is always divisible.
    if (!/--(steps|block-length|threshold)/.test(line)) line = setOption(line, "steps", 8);
  } else if (name === "eval" && /--file/.test(line)) {
    line = setOption(line, "max-seqs", 4);
  } else if (name === "bench") {
    line = setOption(setOption(setOption(line, "steps", 1), "batch", 2), "seq-len", 16);
  }
  if (!hasAdapter) line = line.replace(/--backend(=|\s+)webgpu/, "--backend cpu");
  return { line, env: /--backend/.test(line) ? {} : { LLADA_BACKEND: "cpu" } };
}

Deno.test({
  name:
    "every command printed by the README, docs/, the model card, each --help and the demo runs as printed",
  // Subprocesses only; nothing of this process is left open.
  fn: async () => {
    const tmp = await Deno.makeTempDir({ prefix: "llada-printed-" });
    const hasAdapter = (await probeAdapter()).found;
    const failures: string[] = [];
    const notRun = new Set<string>();
    const ran = new Set<string>();
    const prepared = new Set<string>();
    const timings: string[] = [];
    const runAll = async (commands: string[]) => {
      for (const command of commands) {
        const skip = NOT_RUN.find(([re]) => re.test(command));
        if (skip) {
          notRun.add(command);
          continue;
        }
        const { line, env } = prepare(command, tmp, hasAdapter);
        // Two printed commands that differ only in what the short settings replace run once.
        if (ran.has(command) || prepared.has(line)) continue;
        ran.add(command);
        prepared.add(line);
        const r = await sh(line, env);
        timings.push(`${r.seconds.toFixed(1).padStart(6)} s  ${command}`);
        if (r.code !== 0) {
          failures.push(`${command}\n  ran as: ${line}\n  exit ${r.code}:\n${r.out.slice(-2000)}`);
        }
      }
    };
    try {
      // Where the commands are printed.
      const fromDocs = new Map<string, string[]>();
      for (const file of await markdownFiles()) {
        fromDocs.set(file, commandsInMarkdown(await Deno.readTextFile(`${ROOT}${file}`)).map(normalise));
      }
      const helpOf = async (args: string) => (await sh(`"$DENO" task ${args} --help`, {})).stdout;
      const overview = await helpOf("llada");
      const names = [...overview.matchAll(/^ {2}([\w-]+) {2,}/gm)].map((m) => m[1]);
      assert.deepEqual(
        names,
        ["train", "sample", "eval", "chat", "bench", "reversal", "data-constrained"],
        overview,
      );
      const helps = await Promise.all([...names.map((n) => helpOf(`llada ${n}`)), helpOf("demo")]);
      const examples = helps.map((h) =>
        (h.split("\nExamples:\n")[1] ?? "").split("\n").map(normalise).filter(Boolean)
      );

      // The demo first: it makes runs/demo, which later commands read, and prints its closing suggestion.
      const all = [...fromDocs.values()].flat();
      const demos = all.filter((c) => /^deno task demo\b/.test(c));
      assert.ok(demos.includes("deno task demo"), "the README prints the demo's command");
      const order = [
        ...demos.filter((c) => !c.includes("--resume")),
        ...demos.filter((c) => c.includes("--resume")),
      ];
      await runAll([...new Set(order)]);
      const demoRun = await sh(prepare("deno task demo --resume", tmp, hasAdapter).line, {
        LLADA_BACKEND: "cpu",
      });
      assert.equal(demoRun.code, 0, demoRun.out);
      const closing = [...demoRun.out.matchAll(/^next: (.+)$/gm)].map((m) => normalise(m[1]));
      assert.ok(closing.length > 0, `the demo suggests what to run next:\n${demoRun.out}`);

      // The rest, each source in order (a help's examples may build on each other), the sources side by side.
      await Promise.all([
        ...[...fromDocs.values()].map((commands) => runAll(commands.filter((c) => !demos.includes(c)))),
        ...examples.map(runAll),
        runAll(closing),
      ]);
      console.log(`commands run (wall time each, several at once):\n${timings.join("\n")}`);
      assert.deepEqual(failures, [], `printed commands that failed:\n\n${failures.join("\n\n")}`);
      assert.ok(ran.size >= 20, `ran ${ran.size} commands: ${[...ran].join("\n")}`);
      // Every command not run is listed with its reason, and every reason is still needed.
      for (const [re, why] of NOT_RUN) {
        assert.ok(
          [...notRun].some((c) => re.test(c)),
          `NOT_RUN lists ${re} (${why}), which nothing prints now`,
        );
      }
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
