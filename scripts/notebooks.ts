/**
 * The notebooks in `notebooks/` are stored with their outputs, so they read as lessons where they are hosted.
 * `deno task notebooks` re-executes every notebook under Jupyter (nbconvert with Deno's kernel) and writes the
 * fresh outputs back into the file; `tests/notebooks.test.ts` executes them into a temporary directory and
 * compares the outputs with the committed ones, so a committed notebook cannot go stale.
 *
 * Outputs must therefore be the same on every run: fixed seeds, the CPU backend wherever floating-point results
 * could depend on the device, no wall-clock times. A cell that does show times (a profile, a "took 3.2 s") marks
 * itself as a **timing cell** with `// timing` as its first line: its outputs are written but not compared.
 *
 * This file holds what the task and the test share: running nbconvert, registering Deno's kernel, and the
 * comparison with its readable report of the first difference.
 *
 * @module
 */

/** The parts of the notebook format read here. */
export interface Notebook {
  metadata: { kernelspec?: { name?: string; language?: string } };
  cells: NotebookCell[];
}

/** One cell of a {@link Notebook}. */
export interface NotebookCell {
  cell_type: string;
  source: string | string[];
  execution_count?: number | null;
  outputs?: NotebookOutput[];
}

/** One output of a code cell (display data, an execute result, a stream, or an error). */
export interface NotebookOutput {
  output_type: string;
  data?: Record<string, string | string[]>;
  text?: string | string[];
  name?: string;
  ename?: string;
  evalue?: string;
}

/** The repository root and its notebook folder. */
export const ROOT = new URL("../", import.meta.url);
export const NOTEBOOK_DIR = new URL("notebooks/", ROOT);

/** The notebooks' file names, in lesson order (their names start with the lesson number). */
export function notebookNames(): string[] {
  return [...Deno.readDirSync(NOTEBOOK_DIR)]
    .filter((e) => e.isFile && e.name.endsWith(".ipynb"))
    .map((e) => e.name)
    .sort();
}

/** Reads a notebook file. */
export const readNotebook = (url: URL): Notebook => JSON.parse(Deno.readTextFileSync(url));

/** A cell's source as one string (the format allows a list of lines). */
export const cellSource = (cell: NotebookCell): string =>
  Array.isArray(cell.source) ? cell.source.join("") : cell.source;

/** A timing cell: its first line is `// timing` (optionally followed by a note); its outputs are not compared. */
export const isTimingCell = (cell: NotebookCell): boolean => /^\/\/ timing\b/.test(cellSource(cell));

/** The Debian packages that provide Jupyter's nbconvert and a kernel client, for messages. */
export const INSTALL_HINT =
  "apt-get install -y --no-install-recommends jupyter-nbconvert jupyter-client python3-ipykernel";

/** Runs a command; never throws for a non-zero exit. `null` when the program does not exist. */
export async function runCommand(
  cmd: string,
  args: string[],
  options: { cwd?: URL; signal?: AbortSignal } = {},
): Promise<{ code: number; stdout: string; stderr: string } | null> {
  try {
    const out = await new Deno.Command(cmd, {
      args,
      cwd: options.cwd,
      signal: options.signal,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      // Quiets the Python debugger's "frozen modules" warning that Debian's Jupyter prints on every start.
      env: { PYDEVD_DISABLE_FILE_VALIDATION: "1" },
    }).output();
    const text = new TextDecoder();
    return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/** The last `lines` lines of a command's output, for failure messages. */
export const tail = (text: string, lines = 40): string => text.trimEnd().split("\n").slice(-lines).join("\n");

/**
 * Makes sure Jupyter knows a working `deno` kernel: registers this Deno with `deno jupyter --install` when there is
 * none, or when the registered one points at a binary that no longer exists (an emptied npx cache). Returns the
 * registered binary.
 */
export async function ensureDenoKernel(): Promise<string> {
  const registered = async (): Promise<string | undefined> => {
    const out = await runCommand("jupyter-kernelspec", ["list", "--json"]);
    if (!out || out.code !== 0) throw new Error(`jupyter-kernelspec list failed (install: ${INSTALL_HINT})`);
    const argv0: string | undefined = JSON.parse(out.stdout).kernelspecs?.deno?.spec?.argv?.[0];
    if (!argv0) return undefined;
    try {
      return Deno.statSync(argv0).isFile ? argv0 : undefined;
    } catch {
      return undefined;
    }
  };
  const found = await registered();
  if (found) return found;
  // --force replaces a stale kernelspec directory; without one it is a plain install.
  const install = await runCommand(Deno.execPath(), ["jupyter", "--install", "--force"]);
  if (!install || install.code !== 0) {
    throw new Error(`deno jupyter --install failed:\n${tail(install?.stderr ?? "")}`);
  }
  const now = await registered();
  if (!now) throw new Error("deno jupyter --install succeeded but Jupyter still finds no deno kernel");
  return now;
}

/** The result of executing one notebook. */
export interface Execution {
  name: string;
  /** nbconvert's exit code (0 when every cell ran). */
  code: number;
  /** What went wrong: the failing cell and its error when a cell failed, else the end of nbconvert's output. */
  failure: string;
  /** Wall time of the whole execution, kernel start included. */
  seconds: number;
}

/**
 * Executes `notebooks/<name>` top to bottom with nbconvert: into `outDir` when given, else in place (the file's
 * outputs are replaced). Per-cell timing metadata is not recorded, so a re-run changes only what the cells show.
 */
export async function executeNotebook(
  name: string,
  options: { outDir?: string; timeoutMs?: number } = {},
): Promise<Execution> {
  const started = performance.now();
  const out = await runCommand("jupyter-nbconvert", [
    "--to",
    "notebook",
    "--execute",
    "--ExecutePreprocessor.timeout=600",
    "--ExecutePreprocessor.record_timing=False",
    ...(options.outDir ? ["--output-dir", options.outDir] : ["--inplace"]),
    `notebooks/${name}`,
  ], { cwd: ROOT, signal: AbortSignal.timeout(options.timeoutMs ?? 600_000) });
  if (!out) throw new Error(`jupyter-nbconvert not found (install: ${INSTALL_HINT})`);
  const at = out.stderr.indexOf("An error occurred while executing the following cell");
  const failure = at >= 0 ? tail(out.stderr.slice(at), 80) : tail(out.stderr);
  return { name, code: out.code, failure, seconds: (performance.now() - started) / 1000 };
}

/** An output reduced to what a reader sees: its kind and its content per MIME type (or stream text, or error). */
function comparable(output: NotebookOutput): Record<string, string> {
  const join = (v: string | string[] | undefined) => Array.isArray(v) ? v.join("") : v ?? "";
  const seen: Record<string, string> = { output_type: output.output_type };
  if (output.data) { for (const [mime, v] of Object.entries(output.data)) seen[mime] = join(v); }
  if (output.text !== undefined) seen[`stream ${output.name ?? ""}`] = join(output.text);
  if (output.ename !== undefined) seen.error = `${output.ename}: ${output.evalue ?? ""}`;
  return seen;
}

/** `text` around its character `at`, on one line, for a report. */
function around(text: string, at: number): string {
  const from = Math.max(0, at - 60);
  const excerpt = text.slice(from, at + 60).replaceAll("\n", "⏎");
  return `${from > 0 ? "…" : ""}${excerpt}${at + 60 < text.length ? "…" : ""}`;
}

/** Where two strings first differ, as two aligned excerpts. */
function firstDifference(committed: string, fresh: string): string {
  let i = 0;
  while (i < committed.length && i < fresh.length && committed[i] === fresh[i]) i++;
  const line = committed.slice(0, i).split("\n").length;
  return `first difference at line ${line}, character ${i}:\n` +
    `  committed: ${around(committed, i)}\n` +
    `  fresh:     ${around(fresh, i)}`;
}

/**
 * Compares the outputs of two runs of one notebook, cell by cell, skipping timing cells. Returns `undefined` when
 * they agree, else a report of the first difference: the cell (number and first line), the output, the MIME
 * type, and the two texts where they part.
 */
export function compareOutputs(committed: Notebook, fresh: Notebook): string | undefined {
  if (committed.cells.length !== fresh.cells.length) {
    return `the notebooks have ${committed.cells.length} and ${fresh.cells.length} cells`;
  }
  for (let c = 0; c < committed.cells.length; c++) {
    const a = committed.cells[c];
    const b = fresh.cells[c];
    if (a.cell_type !== "code" || isTimingCell(a)) continue;
    const where = `cell ${c} (${JSON.stringify(cellSource(a).split("\n")[0])})`;
    const outsA = (a.outputs ?? []).map(comparable);
    const outsB = (b.outputs ?? []).map(comparable);
    for (let o = 0; o < Math.max(outsA.length, outsB.length); o++) {
      const x = outsA[o];
      const y = outsB[o];
      if (!x || !y) {
        const shown = (x ?? y)!;
        const what = Object.keys(shown).filter((k) => k !== "output_type").join(", ");
        return `${where}: the ${x ? "committed" : "fresh"} run has an output ${o} (${what}) that the ` +
          `${x ? "fresh" : "committed"} run lacks (committed ${outsA.length} outputs, fresh ${outsB.length})`;
      }
      for (const key of new Set([...Object.keys(x), ...Object.keys(y)])) {
        if (x[key] === y[key]) continue;
        if (x[key] === undefined || y[key] === undefined) {
          return `${where}, output ${o}: "${key}" only in the ${
            x[key] === undefined ? "fresh" : "committed"
          } run`;
        }
        return `${where}, output ${o}, ${key}: ${firstDifference(x[key], y[key])}`;
      }
    }
  }
  return undefined;
}

/**
 * Re-executes every notebook in place (or only those named on the command line), one after another so that
 * each gets the machine to itself, and prints each one's time.
 */
async function main(names: string[]): Promise<void> {
  if (!await runCommand("jupyter-nbconvert", ["--version"])) {
    throw new Error(`jupyter-nbconvert not found (install: ${INSTALL_HINT})`);
  }
  await ensureDenoKernel();
  const all = notebookNames();
  for (const name of names.length > 0 ? names : all) {
    if (!all.includes(name)) {
      throw new Error(`no notebook notebooks/${name}; the notebooks are ${all.join(", ")}`);
    }
    const run = await executeNotebook(name);
    if (run.code !== 0) throw new Error(`${name} failed after ${run.seconds.toFixed(0)} s:\n${run.failure}`);
    console.log(`${name}: executed in ${run.seconds.toFixed(1)} s, outputs written`);
  }
}

if (import.meta.main) await main(Deno.args);
