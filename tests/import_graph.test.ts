/**
 * The import graph of `src/`: no cycle between folders (files directly in `src/` count as folders of their own),
 * no cycle between files except the one the ops need, and no import from outside `src/` (such as `bench/`).
 *
 * Edges are the static `import … from` / `export … from` statements that load code; `import type` is left out,
 * as TypeScript erases it and it cannot make modules wait for each other. Folders are the layers of
 * `docs/architecture.md`, so a folder-level cycle is a layer that depends on one above it.
 */

import assert from "node:assert/strict";

const SRC = new URL("../src/", import.meta.url);

/**
 * The file-level cycles allowed, each inside one folder: an op's backward is built from other ops (broadcasting's
 * backward is a sum, a sum's backward broadcasts), so `elementwise.ts`, `reduce.ts` and `shape.ts` import each
 * other. They only call each other inside functions, never while loading, so the cycle is safe.
 */
const ALLOWED_FILE_CYCLES: readonly { folder: string; files: readonly string[] }[] = [
  { folder: "ops", files: ["ops/elementwise.ts", "ops/reduce.ts", "ops/shape.ts"] },
];

/** Every `.ts` file under `src/`, as a path relative to it. */
async function sourceFiles(dir = SRC, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isDirectory) {
      out.push(...await sourceFiles(new URL(`${entry.name}/`, dir), `${prefix}${entry.name}/`));
    } else if (entry.name.endsWith(".ts")) out.push(prefix + entry.name);
  }
  return out.sort();
}

/** `a/b/../c.ts` → `a/c.ts`. */
function normalise(path: string): string {
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === ".." && parts.length > 0 && parts.at(-1) !== "..") parts.pop();
    else if (part !== ".") parts.push(part);
  }
  return parts.join("/");
}

/**
 * The files a file imports code from, relative to `src/` (relative imports only; `import type` left out); a file
 * outside `src/` starts with `../`.
 */
function importsOf(file: string, text: string): string[] {
  const dir = file.includes("/") ? file.slice(0, file.lastIndexOf("/") + 1) : "";
  const statement = /^\s*(import|export)\s+(?:([^;]*?)\s+from\s+)?"(\.[^"]+)"/gm;
  const targets: string[] = [];
  for (const m of text.matchAll(statement)) {
    if (m[1] === "import" && /^type\b/.test(m[2] ?? "")) continue;
    if (m[1] === "export" && /^type\b/.test(m[2] ?? "")) continue;
    targets.push(normalise(dir + m[3]));
  }
  return targets;
}

/** The folder a file belongs to: its directory, or the file itself when it sits directly in `src/`. */
function folderOf(file: string): string {
  return file.includes("/") ? file.slice(0, file.lastIndexOf("/")) : file;
}

/** The strongly connected components with more than one node (Tarjan's algorithm): the cycles. */
function cycles(graph: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return found;
}

/** The file graph and the folder graph of `src/`. */
async function importGraphs() {
  const files = new Map<string, Set<string>>();
  const folders = new Map<string, Set<string>>();
  const outside: string[] = [];
  for (const file of await sourceFiles()) {
    const targets = importsOf(file, await Deno.readTextFile(new URL(file, SRC)));
    outside.push(...targets.filter((t) => t.startsWith("../")).map((t) => `${file} → ${t}`));
    files.set(file, new Set(targets));
    const from = folderOf(file);
    if (!folders.has(from)) folders.set(from, new Set());
    for (const target of targets) if (folderOf(target) !== from) folders.get(from)!.add(folderOf(target));
  }
  return { files, folders, outside };
}

Deno.test("the cycle finder finds every cycle and only cycles", () => {
  const graph = new Map([
    ["a", new Set(["b"])],
    ["b", new Set(["c"])],
    ["c", new Set(["a", "d"])],
    ["d", new Set(["e"])],
    ["e", new Set(["d"])],
    ["f", new Set(["a"])],
  ]);
  assert.deepEqual(cycles(graph), [["d", "e"], ["a", "b", "c"]]);
  assert.deepEqual(cycles(new Map([["a", new Set(["b"])], ["b", new Set()]])), []);
  assert.deepEqual(
    importsOf("train/x.ts", 'import type { A } from "../a.ts";\nimport { b } from "./b.ts";\n'),
    [
      "train/b.ts",
    ],
  );
  assert.deepEqual(importsOf("x.ts", 'export { c } from "./io/c.ts";\nexport type { D } from "./d.ts";\n'), [
    "io/c.ts",
  ]);
  assert.deepEqual(importsOf("cli/bench.ts", 'import { b } from "../../bench/main.ts";\n'), [
    "../bench/main.ts",
  ]);
  assert.equal(folderOf("tensor.ts"), "tensor.ts");
  assert.equal(folderOf("backend/webgpu/device.ts"), "backend/webgpu");
});

Deno.test("no import cycle between the folders of src/ (files directly in src/ are folders of their own)", async () => {
  const { folders } = await importGraphs();
  assert.ok(folders.size > 10, `only ${folders.size} folders found under src/`);
  assert.deepEqual(cycles(folders), [], "folders of src/ that import each other");
});

Deno.test("no import cycle between files of src/ except the ops' broadcast/sum cycle", async () => {
  const { files } = await importGraphs();
  const unexpected = cycles(files).filter((cycle) =>
    !ALLOWED_FILE_CYCLES.some((allowed) =>
      cycle.every((file) => folderOf(file) === allowed.folder && allowed.files.includes(file))
    )
  );
  assert.deepEqual(unexpected, [], "files of src/ that import each other");
});

Deno.test("src/ imports nothing outside it (the library does not depend on bench/, tests/ or examples/)", async () => {
  const { outside } = await importGraphs();
  assert.deepEqual(outside, []);
});
