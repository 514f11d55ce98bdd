/**
 * Mutation sweep: plants one plausible bug at a time and checks that the test suite notices.
 *
 *     deno task mutate                 every mutant
 *     deno task mutate --only ID[,ID]  just these
 *     deno task mutate --list          the mutants and whether each pattern still matches, without running
 *     deno task mutate --baseline …    with --only: first check that the whole suite passes on the clean copy
 *
 * Each mutant is a one-line edit: a file, an exact pattern (which must occur exactly once, or name which
 * occurrence), its replacement, and the test files expected to catch it. The sweep copies the working tree (tracked
 * files and untracked ones git does not ignore, so uncommitted edits count) into a scratch directory once; for each
 * mutant it applies the edit there, runs the named tests with `CI=true`, and if they all pass runs the whole suite
 * (`deno test -A --parallel --lock=tests/deno.lock tests/`, as `deno task test` does); then it restores the file. A full sweep first runs the whole suite on the
 * unmutated copy, since a suite that fails there would count every mutant as killed. A mutant is
 *
 * - killed by the targeted tests, or by the full suite (a timeout counts as a kill: the bug hung a test);
 * - survived: the whole suite passed with the bug in it;
 * - an error: its pattern no longer matches the source (the code moved: update the list), or the mutated code no
 *   longer type-checks (the replacement is wrong). Errors are never counted as kills, and make the sweep fail.
 *
 * It prints a kill table and the survivors, and writes the same as JSON to `build/mutate.json`. It is slow (the
 * whole suite once per survivor) and not part of `deno task test`; run it before closing work that changes the
 * folders it covers, and keep the list in step with the code.
 *
 * @module
 */

import { type Mutant, MUTANTS } from "./mutants.ts";

/** What happened to one mutant. */
type Outcome = "targeted" | "full" | "survived" | "error";

interface Result {
  id: string;
  file: string;
  outcome: Outcome;
  seconds: number;
  /** For errors: what went wrong. For kills: the first failing test's name, when it can be found. */
  detail: string;
}

const ROOT = new URL("../../", import.meta.url).pathname;
const DENO = Deno.execPath();
const TARGETED_TIMEOUT_S = 600;
const FULL_TIMEOUT_S = 1200;

/** Where `pattern` occurs in `text` (character offsets). */
function occurrences(text: string, pattern: string): number[] {
  const at: number[] = [];
  for (let i = text.indexOf(pattern); i >= 0; i = text.indexOf(pattern, i + 1)) at.push(i);
  return at;
}

/** The mutated text of `m.file`, or an error message saying why the pattern cannot be applied. */
function applyMutant(text: string, m: Mutant): { text: string } | { error: string } {
  const at = occurrences(text, m.find);
  if (m.occurrence === undefined) {
    if (at.length !== 1) {
      return {
        error: `pattern occurs ${at.length} times in ${m.file} (expected exactly once; ` +
          `set "occurrence" if several are meant): ${JSON.stringify(m.find)}`,
      };
    }
  } else if (at.length < m.occurrence) {
    return {
      error: `pattern occurs ${at.length} times, occurrence ${m.occurrence} was asked: ${
        JSON.stringify(m.find)
      }`,
    };
  }
  if (m.find.includes("\n") || m.replace.includes("\n")) return { error: "a mutant must be a one-line edit" };
  const i = at[(m.occurrence ?? 1) - 1];
  return { text: text.slice(0, i) + m.replace + text.slice(i + m.find.length) };
}

/** Copies the working tree (tracked + untracked, not ignored) into a fresh scratch directory. */
async function scratchCopy(): Promise<string> {
  const { stdout, success } = await new Deno.Command("git", {
    args: ["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
    cwd: ROOT,
    stdout: "piped",
  }).output();
  if (!success) throw new Error(`git ls-files failed in ${ROOT}: is this a git checkout?`);
  const dir = await Deno.makeTempDir({ prefix: "llada_mutate_" });
  const dirs = new Set<string>();
  for (const path of new TextDecoder().decode(stdout).split("\0").filter(Boolean)) {
    let source: Deno.FileInfo;
    try {
      source = await Deno.lstat(`${ROOT}${path}`);
    } catch {
      continue; // deleted in the working tree but not yet in the index
    }
    if (!source.isFile) continue;
    const parent = `${dir}/${path}`.replace(/\/[^/]*$/, "");
    if (!dirs.has(parent)) {
      await Deno.mkdir(parent, { recursive: true });
      dirs.add(parent);
    }
    await Deno.copyFile(`${ROOT}${path}`, `${dir}/${path}`);
  }
  return dir;
}

/** Runs `deno test` on `files` in `cwd` with CI=true; passed, timed out, and the output's tail. */
async function runTests(
  cwd: string,
  files: string[],
  timeoutS: number,
): Promise<{ passed: boolean; timedOut: boolean; output: string }> {
  const child = new Deno.Command(DENO, {
    // The lock file `deno task test` uses: the test-only packages (Tang poems, …) are pinned there, not in the
    // root deno.lock, which tests/light_install.test.ts keeps free of them.
    args: ["test", "-A", "--parallel", "--lock=tests/deno.lock", ...files],
    cwd,
    env: { CI: "true", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
  }, timeoutS * 1000);
  const { success, stdout, stderr } = await child.output();
  clearTimeout(timer);
  const output = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
  return { passed: success && !timedOut, timedOut, output };
}

/** A type error in the mutated code means the mutant is malformed, not that a test caught it. */
function typeError(output: string): string | null {
  const m = output.match(/error: (TS\d+ .*)/);
  return m ? m[1] : null;
}

/** The first failing test named in deno's output, to show what caught a mutant. */
function firstFailure(output: string): string {
  const m = output.match(/^(.+?) \.\.\. FAILED/m) ?? output.match(/^(.+?) => .+:\d+:\d+$/m);
  return m ? m[1].replace(/^\.\/tests\/\S+ => /, "").slice(0, 90) : "";
}

async function sweep(mutants: Mutant[], baseline: boolean): Promise<Result[]> {
  const dir = await scratchCopy();
  console.log(`scratch copy: ${dir}`);
  const results: Result[] = [];
  try {
    if (baseline) {
      // A suite that already fails on the clean copy would "kill" every mutant: refuse to sweep then.
      const clean = await runTests(dir, ["tests/"], FULL_TIMEOUT_S);
      if (!clean.passed) {
        throw new Error(
          `the whole suite fails on the unmutated copy (${
            firstFailure(clean.output) || "see its output"
          }); ` +
            "fix that first, or sweep with --only",
        );
      }
      console.log("baseline: the whole suite passes on the unmutated copy");
    }
    for (const m of mutants) {
      const started = performance.now();
      const seconds = () => Math.round((performance.now() - started) / 100) / 10;
      const path = `${dir}/${m.file}`;
      let original: string;
      try {
        original = await Deno.readTextFile(path);
      } catch {
        results.push({ id: m.id, file: m.file, outcome: "error", seconds: 0, detail: `no file ${m.file}` });
        report(results.at(-1)!);
        continue;
      }
      const mutated = applyMutant(original, m);
      if ("error" in mutated) {
        results.push({ id: m.id, file: m.file, outcome: "error", seconds: 0, detail: mutated.error });
        report(results.at(-1)!);
        continue;
      }
      await Deno.writeTextFile(path, mutated.text);
      try {
        let outcome: Outcome = "survived";
        let detail = "";
        const targeted = await runTests(dir, m.tests, TARGETED_TIMEOUT_S);
        const bad = typeError(targeted.output);
        if (bad) {
          outcome = "error";
          detail = `the mutated code does not type-check: ${bad}`;
        } else if (!targeted.passed) {
          outcome = "targeted";
          detail = targeted.timedOut ? "timed out" : firstFailure(targeted.output);
        } else {
          const full = await runTests(dir, ["tests/"], FULL_TIMEOUT_S);
          const fullBad = typeError(full.output);
          if (fullBad) {
            outcome = "error";
            detail = `the mutated code does not type-check: ${fullBad}`;
          } else if (!full.passed) {
            outcome = "full";
            detail = full.timedOut ? "timed out" : firstFailure(full.output);
          }
        }
        results.push({ id: m.id, file: m.file, outcome, seconds: seconds(), detail });
        report(results.at(-1)!);
      } finally {
        await Deno.writeTextFile(path, original);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  return results;
}

const LABEL: Record<Outcome, string> = {
  targeted: "killed (targeted)",
  full: "killed (full suite)",
  survived: "SURVIVED",
  error: "ERROR",
};

function report(r: Result): void {
  const line = `${r.id.padEnd(34)} ${r.file.padEnd(34)} ${LABEL[r.outcome].padEnd(20)} ${
    String(r.seconds).padStart(6)
  } s  ${r.detail}`;
  if (r.outcome === "error") console.error(`%c${line}`, "color: red; font-weight: bold");
  else console.log(line);
}

function summary(results: Result[]): { killed: number; valid: number; errors: number; survivors: Result[] } {
  const errors = results.filter((r) => r.outcome === "error").length;
  const valid = results.length - errors;
  const killed = results.filter((r) => r.outcome === "targeted" || r.outcome === "full").length;
  return { killed, valid, errors, survivors: results.filter((r) => r.outcome === "survived") };
}

async function main(args: string[]): Promise<number> {
  const unknown = args.filter((a, i) =>
    !["--list", "--only", "--baseline"].includes(a) && args[i - 1] !== "--only"
  );
  if (unknown.length > 0) {
    console.error(`mutate: unknown argument ${unknown[0]}; use --list, or --only ID[,ID]`);
    return 2;
  }
  const ids = new Set(MUTANTS.map((m) => m.id));
  if (ids.size !== MUTANTS.length) throw new Error("mutate: mutant ids must be unique");
  const onlyAt = args.indexOf("--only");
  let chosen = MUTANTS;
  if (onlyAt >= 0) {
    const wanted = (args[onlyAt + 1] ?? "").split(",").filter(Boolean);
    const missing = wanted.filter((id) => !ids.has(id));
    if (wanted.length === 0 || missing.length > 0) {
      console.error(
        `mutate: --only needs known mutant ids; unknown: ${missing.join(", ") || "(none given)"}`,
      );
      return 2;
    }
    chosen = MUTANTS.filter((m) => wanted.includes(m.id));
  }

  if (args.includes("--list")) {
    let errors = 0;
    for (const m of chosen) {
      let problem = "";
      try {
        const r = applyMutant(await Deno.readTextFile(`${ROOT}${m.file}`), m);
        if ("error" in r) problem = r.error;
      } catch {
        problem = `no file ${m.file}`;
      }
      if (problem) errors++;
      const line = `${m.id.padEnd(34)} ${m.file.padEnd(34)} ${
        problem ? `ERROR: ${problem}` : m.tests.join(" ")
      }`;
      if (problem) console.error(`%c${line}`, "color: red; font-weight: bold");
      else console.log(line);
    }
    console.log(`${chosen.length} mutants, ${errors} whose pattern does not apply`);
    return errors > 0 ? 1 : 0;
  }

  console.log(
    `${"mutant".padEnd(34)} ${"file".padEnd(34)} ${"outcome".padEnd(20)} ${"time".padStart(8)}  caught by`,
  );
  const results = await sweep(chosen, onlyAt < 0 || args.includes("--baseline"));
  const { killed, valid, errors, survivors } = summary(results);
  const rate = valid > 0 ? killed / valid : 0;
  console.log(`\nkilled ${killed} of ${valid} mutants (${(100 * rate).toFixed(1)} %); ${errors} errors`);
  if (survivors.length > 0) {
    console.log("survivors:");
    for (const s of survivors) {
      const m = MUTANTS.find((x) => x.id === s.id)!;
      console.log(`  ${m.id}: ${m.file}: ${JSON.stringify(m.find)} → ${JSON.stringify(m.replace)}`);
    }
  }
  if (errors > 0) console.error(`%c${errors} mutants are errors (see above): fix the list`, "color: red");
  await Deno.mkdir(`${ROOT}build`, { recursive: true });
  const json = {
    killed,
    valid,
    errors,
    rate,
    results: results.map((r) => ({ ...r, ...MUTANTS.find((m) => m.id === r.id)! })),
  };
  await Deno.writeTextFile(`${ROOT}build/mutate.json`, JSON.stringify(json, null, 2) + "\n");
  console.log("written: build/mutate.json");
  return errors > 0 ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
