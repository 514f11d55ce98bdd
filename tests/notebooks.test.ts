/**
 * The notebooks in `notebooks/` are lessons stored with their outputs; they run top to bottom under real Jupyter,
 * with Deno's kernel, and show what their committed outputs show.
 *
 * - Stored form (always checked): kernel `deno`, every code cell executed in order, no error output. Outputs are
 *   committed by `deno task notebooks` (scripts/notebooks.ts), which re-executes every notebook in place.
 * - Types (always checked): the Deno kernel only transpiles cells, so a renamed export or a changed option would
 *   pass silently until the line ran. Each notebook's code cells are joined into one module (its `../` imports
 *   pointed at the repository) and given to `deno check`.
 * - Execution (needs Jupyter): every notebook is executed with `jupyter nbconvert --execute`, all at once, each
 *   into a temporary directory; nbconvert exits non-zero on any cell error, and the failure message carries its
 *   traceback. Then each notebook's outputs are compared with the committed ones, except those of timing cells
 *   (first line `// timing`); a difference fails with a report of the first one ("run `deno task notebooks`").
 *
 * Deno's kernel can drop an output that arrives as a cell ends (src/viz/notebook.ts pauses after each display to
 * avoid it); a notebook whose fresh outputs differ is therefore executed a second time, alone, before the
 * difference counts, and the first difference is reported as a warning.
 *
 * Without `jupyter-nbconvert` the execution test is skipped with a message saying how to install it, except
 * under `CI=true`, where that is a failure (`.ci/run` installs it).
 */

import assert from "node:assert/strict";
import {
  cellSource,
  compareOutputs,
  ensureDenoKernel,
  executeNotebook,
  INSTALL_HINT,
  type Notebook,
  NOTEBOOK_DIR,
  notebookNames,
  readNotebook,
  ROOT,
  runCommand,
  tail,
} from "../scripts/notebooks.ts";

const notebooks = notebookNames();

Deno.test("notebooks: stored with kernel deno, numbered in lesson order, every code cell executed", () => {
  assert.ok(notebooks.length >= 3, `expected the notebooks in notebooks/, found ${notebooks.join(", ")}`);
  for (const name of notebooks) {
    assert.match(name, /^\d\d_[a-z0-9_]+\.ipynb$/, `${name}: name it NN_topic.ipynb, NN the lesson number`);
    const nb = readNotebook(new URL(name, NOTEBOOK_DIR));
    assert.equal(nb.metadata.kernelspec?.name, "deno", `${name}: metadata.kernelspec.name must be "deno"`);
    const code = nb.cells.filter((c) => c.cell_type === "code");
    code.forEach((cell, i) => {
      const hint = "run `deno task notebooks` to execute the notebooks and store their outputs";
      assert.equal(cell.execution_count, i + 1, `${name}: code cell ${i} was not executed in order; ${hint}`);
      const error = (cell.outputs ?? []).find((o) => o.output_type === "error");
      assert.equal(
        error,
        undefined,
        `${name}: code cell ${i} stored an error: ${error?.ename} ${error?.evalue}`,
      );
    });
  }
});

Deno.test("compareOutputs: equal outputs agree, timing cells are skipped, the first difference is reported", () => {
  const nb = (plain: string, timing: string, svg: string): Notebook => ({
    metadata: {},
    cells: [
      { cell_type: "markdown", source: "# title" },
      {
        cell_type: "code",
        source: "print(1);",
        outputs: [{ output_type: "display_data", data: { "text/plain": plain } }],
      },
      {
        cell_type: "code",
        source: ["// timing\n", "t();"],
        outputs: [{ output_type: "stream", name: "stdout", text: timing }],
      },
      {
        cell_type: "code",
        source: "chart();",
        outputs: [{ output_type: "display_data", data: { "image/svg+xml": [svg] } }],
      },
    ],
  });
  assert.equal(compareOutputs(nb("a\nb", "1.2 s", "<svg/>"), nb("a\nb", "3.4 s", "<svg/>")), undefined);
  const plain = compareOutputs(nb("a\nb", "", "<svg/>"), nb("a\nc", "", "<svg/>"));
  assert.match(plain ?? "", /^cell 1 \("print\(1\);"\), output 0, text\/plain: first difference at line 2/);
  assert.ok((plain ?? "").includes("committed: a⏎b\n  fresh:     a⏎c"), plain);
  const svg = compareOutputs(nb("a", "", "<svg/>"), nb("a", "", "<svg x/>"));
  assert.match(svg ?? "", /^cell 3 .*image\/svg\+xml/);
  const lost = compareOutputs(nb("a", "", "<svg/>"), {
    ...nb("a", "", ""),
    cells: nb("a", "", "").cells.slice(0, 3).concat([{ cell_type: "code", source: "chart();", outputs: [] }]),
  });
  assert.match(lost ?? "", /the committed run has an output 0 \(image\/svg\+xml\) that the fresh run lacks/);
});

Deno.test("notebooks: the code cells type-check", async () => {
  const dir = await Deno.makeTempDir({ prefix: "llada-notebooks-check-" });
  try {
    const files: string[] = [];
    for (const name of notebooks) {
      const nb = readNotebook(new URL(name, NOTEBOOK_DIR));
      const code = nb.cells.filter((c) => c.cell_type === "code").map(cellSource).join("\n\n");
      // The cells import the project as "../mod.ts" (relative to notebooks/); point that at the repository.
      const file = `${dir}/${name.replace(/\.ipynb$/, ".ts")}`;
      await Deno.writeTextFile(file, code.replaceAll(/(["'])\.\.\//g, `$1${ROOT.href}`));
      files.push(file);
    }
    const out = await runCommand(Deno.execPath(), [
      "check",
      "--quiet",
      "--config",
      decodeURIComponent(new URL("deno.json", ROOT).pathname),
      ...files,
    ]);
    assert.ok(out, "could not start deno");
    assert.equal(out.code, 0, `deno check of the notebooks' code failed:\n${tail(out.stderr + out.stdout)}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const nbconvert = await runCommand("jupyter-nbconvert", ["--version"]);
const inCI = Deno.env.get("CI") === "true";
if (!nbconvert && !inCI) {
  console.warn(
    `notebooks: jupyter-nbconvert not found, so the notebooks are not executed (install: ${INSTALL_HINT})`,
  );
}

Deno.test({
  name: "notebooks: every notebook runs under Jupyter and shows its committed outputs",
  ignore: !nbconvert && !inCI,
  async fn() {
    assert.ok(nbconvert, `jupyter-nbconvert is required under CI=true (install: ${INSTALL_HINT})`);
    const kernel = await ensureDenoKernel();
    const kernelVersion = (await runCommand(kernel, ["--version"]))?.stdout.split("\n")[0] ?? "unknown";
    if (!kernelVersion.includes(Deno.version.deno)) {
      console.warn(
        `notebooks: the registered deno kernel is ${kernelVersion}, these tests run ${Deno.version.deno}`,
      );
    }
    const outDir = await Deno.makeTempDir({ prefix: "llada-notebooks-" });
    try {
      // All at once: the kernels mostly wait on each other's start-up, and the training lesson dominates anyway.
      const runs = await Promise.all(
        notebooks.map((name) => executeNotebook(name, { outDir, timeoutMs: 600_000 })),
      );
      for (const run of runs) {
        assert.equal(run.code, 0, `${run.name} failed after ${run.seconds.toFixed(0)} s:\n${run.failure}`);
        console.log(`notebooks: ${run.name} ran in ${run.seconds.toFixed(1)} s`);
      }
      for (const name of notebooks) {
        const committed = readNotebook(new URL(name, NOTEBOOK_DIR));
        const fresh = () => readNotebook(new URL(`file://${outDir}/${name}`));
        const first = compareOutputs(committed, fresh());
        if (first === undefined) continue;
        console.warn(`notebooks: ${name} differs from its committed outputs; executing it again:\n${first}`);
        const again = await executeNotebook(name, { outDir, timeoutMs: 600_000 });
        assert.equal(again.code, 0, `${name} failed on its second run:\n${again.failure}`);
        const second = compareOutputs(committed, fresh());
        assert.equal(
          second,
          undefined,
          `${name}: the outputs differ from the committed ones (run \`deno task notebooks\` and review the diff, ` +
            `or make the cell deterministic, or mark it "// timing"):\n${second}`,
        );
      }
    } finally {
      await Deno.remove(outDir, { recursive: true });
    }
  },
});
