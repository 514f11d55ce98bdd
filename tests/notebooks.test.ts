/**
 * The notebooks in `notebooks/` run top to bottom under real Jupyter, with Deno's kernel.
 *
 * - Stored form (always checked): kernel `deno`, outputs cleared, so diffs stay small and reviewable.
 * - Types (always checked): the Deno kernel only transpiles cells, so a renamed export or a changed option would
 *   pass silently until the line ran. Each notebook's code cells are joined into one module (its `../` imports
 *   pointed at the repository) and given to `deno check`.
 * - Execution (needs Jupyter): every notebook is executed with `jupyter nbconvert --execute`, all at once, each
 *   into a temporary directory; nbconvert exits non-zero on any cell error, and the failure message carries its
 *   traceback. Deno's kernel is registered with `deno jupyter --install` when Jupyter does not know it yet (or
 *   knows a `deno` kernel whose binary is gone).
 *
 * Without `jupyter-nbconvert` the execution test is skipped with a message saying how to install it, except
 * under `CI=true`, where that is a failure (`.ci/run` installs it).
 */

import assert from "node:assert/strict";

const root = new URL("../", import.meta.url);
const notebookDir = new URL("notebooks/", root);
const notebooks = [...Deno.readDirSync(notebookDir)]
  .filter((e) => e.isFile && e.name.endsWith(".ipynb"))
  .map((e) => e.name)
  .sort();

/** The parts of the notebook format these tests read. */
interface Notebook {
  metadata: { kernelspec?: { name?: string; language?: string } };
  cells: {
    cell_type: string;
    source: string | string[];
    execution_count?: number | null;
    outputs?: { output_type: string; ename?: string; evalue?: string }[];
  }[];
}

const readNotebook = (url: URL): Notebook => JSON.parse(Deno.readTextFileSync(url));
const source = (cell: Notebook["cells"][number]) =>
  Array.isArray(cell.source) ? cell.source.join("") : cell.source;

/** Runs a command; never throws for a non-zero exit. `null` when the program does not exist. */
async function run(
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
const tail = (text: string, lines = 40) => text.trimEnd().split("\n").slice(-lines).join("\n");

/** What went wrong in an nbconvert run: the failing cell and its error when a cell failed, else the output's end. */
function nbconvertFailure(stderr: string): string {
  const at = stderr.indexOf("An error occurred while executing the following cell");
  return at >= 0 ? tail(stderr.slice(at), 80) : tail(stderr);
}

Deno.test("notebooks: stored with kernel deno and without outputs", () => {
  assert.ok(notebooks.length >= 3, `expected the notebooks in notebooks/, found ${notebooks.join(", ")}`);
  for (const name of notebooks) {
    const nb = readNotebook(new URL(name, notebookDir));
    assert.equal(nb.metadata.kernelspec?.name, "deno", `${name}: metadata.kernelspec.name must be "deno"`);
    nb.cells.forEach((cell, i) => {
      if (cell.cell_type !== "code") return;
      assert.deepEqual(
        cell.outputs,
        [],
        `${name}: cell ${i} has stored outputs; clear them before committing`,
      );
      assert.equal(cell.execution_count, null, `${name}: cell ${i} has an execution count; clear outputs`);
    });
  }
});

Deno.test("notebooks: the code cells type-check", async () => {
  const dir = await Deno.makeTempDir({ prefix: "llada-notebooks-check-" });
  try {
    const files: string[] = [];
    for (const name of notebooks) {
      const nb = readNotebook(new URL(name, notebookDir));
      const code = nb.cells.filter((c) => c.cell_type === "code").map(source).join("\n\n");
      // The cells import the project as "../mod.ts" (relative to notebooks/); point that at the repository.
      const file = `${dir}/${name.replace(/\.ipynb$/, ".ts")}`;
      await Deno.writeTextFile(file, code.replaceAll(/(["'])\.\.\//g, `$1${root.href}`));
      files.push(file);
    }
    const out = await run(Deno.execPath(), [
      "check",
      "--quiet",
      "--config",
      decodeURIComponent(new URL("deno.json", root).pathname),
      ...files,
    ]);
    assert.ok(out, "could not start deno");
    assert.equal(out.code, 0, `deno check of the notebooks' code failed:\n${tail(out.stderr + out.stdout)}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const nbconvert = await run("jupyter-nbconvert", ["--version"]);
const inCI = Deno.env.get("CI") === "true";
const installHint =
  "apt-get install -y --no-install-recommends jupyter-nbconvert jupyter-client python3-ipykernel";
if (!nbconvert && !inCI) {
  console.warn(
    `notebooks: jupyter-nbconvert not found, so the notebooks are not executed (install: ${installHint})`,
  );
}

/**
 * Makes sure Jupyter knows a working `deno` kernel: registers this Deno with `deno jupyter --install` when there is
 * none, or when the registered one points at a binary that no longer exists (an emptied npx cache). Returns the
 * registered binary.
 */
async function ensureDenoKernel(): Promise<string> {
  const registered = async (): Promise<string | undefined> => {
    const out = await run("jupyter-kernelspec", ["list", "--json"]);
    assert.ok(out && out.code === 0, `jupyter-kernelspec list failed (install: ${installHint})`);
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
  const install = await run(Deno.execPath(), ["jupyter", "--install", "--force"]);
  assert.ok(install && install.code === 0, `deno jupyter --install failed:\n${tail(install?.stderr ?? "")}`);
  const now = await registered();
  assert.ok(now, "deno jupyter --install succeeded but Jupyter still finds no deno kernel");
  return now;
}

Deno.test({
  name: "notebooks: every notebook runs top to bottom under Jupyter (nbconvert --execute)",
  ignore: !nbconvert && !inCI,
  async fn() {
    assert.ok(nbconvert, `jupyter-nbconvert is required under CI=true (install: ${installHint})`);
    const kernel = await ensureDenoKernel();
    const kernelVersion = (await run(kernel, ["--version"]))?.stdout.split("\n")[0] ?? "unknown";
    if (!kernelVersion.includes(Deno.version.deno)) {
      console.warn(
        `notebooks: the registered deno kernel is ${kernelVersion}, these tests run ${Deno.version.deno}`,
      );
    }
    const outDir = await Deno.makeTempDir({ prefix: "llada-notebooks-" });
    try {
      // All at once: the kernels mostly wait on each other's start-up, and 02 (training) dominates anyway.
      const results = await Promise.all(notebooks.map(async (name) => {
        const started = performance.now();
        const out = await run("jupyter-nbconvert", [
          "--to",
          "notebook",
          "--execute",
          "--ExecutePreprocessor.timeout=600",
          "--output-dir",
          outDir,
          `notebooks/${name}`,
        ], { cwd: root, signal: AbortSignal.timeout(240_000) });
        return { name, out, seconds: (performance.now() - started) / 1000 };
      }));
      for (const { name, out, seconds } of results) {
        assert.ok(out, "could not start jupyter-nbconvert");
        assert.equal(
          out.code,
          0,
          `${name} failed after ${seconds.toFixed(0)} s:\n${nbconvertFailure(out.stderr)}`,
        );
        // The cells show their text with `await show();` (one display message, then a pause: Deno's kernel can
        // lose output that arrives as a cell ends, and nbconvert stops listening then). A notebook that displayed
        // nothing means that mechanism broke; a single lost output is the kernel's race, reported but tolerated.
        const executed = readNotebook(new URL(`file://${outDir}/${name}`));
        const showing = executed.cells.filter((c) =>
          c.cell_type === "code" && /^await show\(\);$/m.test(source(c))
        );
        const silent = showing.filter((c) =>
          !(c.outputs ?? []).some((o) => o.output_type === "display_data")
        );
        assert.ok(silent.length < showing.length, `${name}: no cell displayed anything`);
        if (silent.length > 0) {
          console.warn(
            `notebooks: ${name}: ${silent.length} of ${showing.length} outputs lost by the kernel`,
          );
        }
        console.log(`notebooks: ${name} ran in ${seconds.toFixed(1)} s`);
      }
    } finally {
      await Deno.remove(outDir, { recursive: true });
    }
  },
});
