/**
 * `deno task playground`: builds the browser playground into `build/playground/` and serves it on
 * `http://localhost:8000` (`--port N` to change it; `--build-only` to build and stop). The build is a static
 * site (an HTML page, one bundled script, the model files and a Brown sample), so it can also be hosted as plain
 * files, such as a project page.
 *
 * The bundler is npm `esbuild`, imported only here, on first use, with the version pinned below and its lockfile
 * in `scripts/playground.lock` (the task's `--lock`), so the library's other tasks never download it. The bundle
 * carries the WGSL shaders as text (esbuild's `define` of `LLADA_BUNDLED_SHADERS`, read by
 * `src/backend/webgpu/shaders.ts`); the page fetches the model files.
 *
 * @module
 */

import { PLAYGROUND_MODELS, type PlaygroundManifest } from "../src/playground/models.ts";
import { SHADER_FILES } from "../src/backend/webgpu/shaders.ts";
import { loadBrown } from "../src/data/brown.ts";

/** The bundler, pinned; a variable so that type checking the project never resolves (and downloads) it. */
const ESBUILD = "npm:esbuild@0.28.2";

/** The part of esbuild's API the build uses. */
interface Esbuild {
  build(options: Record<string, unknown>): Promise<unknown>;
  stop(): void | Promise<void>;
}

const ROOT = new URL("../", import.meta.url);

/** Where the site is built, relative to the project root. */
export const PLAYGROUND_DIR = "build/playground";

/** The files of a model directory the page reads (the model card and training log stay behind). */
const MODEL_FILES = ["config.json", "model.safetensors", "tokenizer.json", "generation_config.json"];

/** Characters of the Brown corpus offered to the train tab: its first news documents. */
const BROWN_SAMPLE_CHARS = 60_000;

/** Whether `path` (relative to the project root) is a file. */
async function isFile(path: string): Promise<boolean> {
  return await Deno.stat(new URL(path, ROOT)).then((s) => s.isFile, () => false);
}

/** The models to ship: the first entry of {@link PLAYGROUND_MODELS} whose mask predictor is in `models/`. */
export async function chooseModels(): Promise<PlaygroundManifest> {
  for (const choice of PLAYGROUND_MODELS) {
    if (!(await isFile(`models/${choice.maskPredictor}/config.json`))) continue;
    const twin = choice.twin && await isFile(`models/${choice.twin}/config.json`) ? choice.twin : null;
    return { maskPredictor: choice.maskPredictor, twin };
  }
  throw new Error(
    `none of the playground's models is in models/ (${
      PLAYGROUND_MODELS.map((m) => m.maskPredictor).join(", ")
    }); restore the folder (git checkout models/) or train one (deno task train:shipped)`,
  );
}

/**
 * Builds the site into `outDir` (default {@link PLAYGROUND_DIR}): the bundle, the page, the chosen models and
 * the Brown sample. Returns what it shipped.
 */
export async function buildPlayground(outDir = PLAYGROUND_DIR): Promise<PlaygroundManifest> {
  const out = new URL(`${outDir.replace(/\/+$/, "")}/`, ROOT);
  await Deno.remove(out, { recursive: true }).catch(() => {});
  await Deno.mkdir(out, { recursive: true });

  const shaders: Record<string, string> = {};
  for (const name of [...SHADER_FILES, "common"]) {
    shaders[name] = await Deno.readTextFile(new URL(`shaders/${name}.wgsl`, ROOT));
  }
  const esbuild = await import(ESBUILD) as Esbuild;
  try {
    await esbuild.build({
      entryPoints: [new URL("src/playground/main.ts", ROOT).pathname],
      outfile: new URL("app.js", out).pathname,
      bundle: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      sourcemap: true,
      minify: false,
      // Reached only outside a browser (Node's file API, Node's WebGPU package): never bundled.
      external: ["node:*", "npm:*", "webgpu"],
      define: { LLADA_BUNDLED_SHADERS: JSON.stringify(shaders) },
      logLevel: "warning",
    });
  } finally {
    await esbuild.stop();
  }
  for (const file of ["index.html", "style.css"]) {
    await Deno.copyFile(new URL(`src/playground/${file}`, ROOT), new URL(file, out));
  }

  const manifest = await chooseModels();
  for (const name of [manifest.maskPredictor, manifest.twin]) {
    if (!name) continue;
    await Deno.mkdir(new URL(`models/${name}/`, out), { recursive: true });
    for (const file of MODEL_FILES) {
      const target = new URL(`models/${name}/${file}`, out);
      if (await isFile(`models/${name}/${file}`)) {
        await Deno.copyFile(new URL(`models/${name}/${file}`, ROOT), target);
      } // A model without sampler recommendations gets an empty one, so the page's requests never fail.
      else if (file === "generation_config.json") await Deno.writeTextFile(target, "{}\n");
      else throw new Error(`models/${name}/${file} is missing; restore the folder (git checkout models/)`);
    }
  }
  await Deno.writeTextFile(new URL("models.json", out), JSON.stringify(manifest, null, 2) + "\n");

  let sample = "";
  for (const doc of await loadBrown()) {
    if (sample.length >= BROWN_SAMPLE_CHARS) break;
    sample += doc.text;
  }
  await Deno.writeTextFile(new URL("brown-sample.txt", out), sample.slice(0, BROWN_SAMPLE_CHARS));
  return manifest;
}

/** Content types of the files the site holds. */
const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  css: "text/css; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  map: "application/json",
  json: "application/json",
  txt: "text/plain; charset=utf-8",
  safetensors: "application/octet-stream",
  png: "image/png",
};

/**
 * Serves the files of `dir` (a built site) on `port` of localhost: `/` is `index.html`; a path outside `dir`
 * or a missing file is a 404. Returns the server (`await server.shutdown()` stops it).
 */
export function servePlayground(
  dir = PLAYGROUND_DIR,
  port = 8000,
  onListen: (address: string) => void = () => {},
): Deno.HttpServer<Deno.NetAddr> {
  const root = new URL(`${dir.replace(/\/+$/, "")}/`, ROOT);
  return Deno.serve({
    port,
    hostname: "127.0.0.1",
    onListen: ({ port }) => onListen(`http://localhost:${port}/`),
  }, async (request) => {
    const path = decodeURIComponent(new URL(request.url).pathname);
    const relative = path === "/" ? "index.html" : path.slice(1);
    if (relative.split("/").some((part) => part === ".." || part === "")) {
      return new Response("not found", { status: 404 });
    }
    try {
      const body = await Deno.readFile(new URL(relative, root));
      const type = TYPES[relative.slice(relative.lastIndexOf(".") + 1)] ?? "application/octet-stream";
      return new Response(body, { headers: { "content-type": type } });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
}

/** The command's options: `--port N`, `--build-only`. */
function parseOptions(args: string[]): { port: number; buildOnly: boolean } {
  let port = 8000;
  let buildOnly = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--build-only") buildOnly = true;
    else if (arg === "--port" || arg.startsWith("--port=")) {
      const value = arg === "--port" ? args[++i] : arg.slice("--port=".length);
      port = Number(value);
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        throw new Error(`--port: expected a port number 0–65535, got ${JSON.stringify(value)}`);
      }
    } else if (arg === "--help" || arg === "-h") {
      console.log(
        "deno task playground [--port N] [--build-only]\n\nBuilds the browser playground into build/playground/ " +
          "and serves it on http://localhost:8000 (--port N: another port; --build-only: build and stop).",
      );
      Deno.exit(0);
    } else throw new Error(`unknown option ${arg}; the options are --port N and --build-only`);
  }
  return { port, buildOnly };
}

if (import.meta.main) {
  try {
    const { port, buildOnly } = parseOptions(Deno.args);
    const manifest = await buildPlayground();
    const models = [manifest.maskPredictor, manifest.twin].filter((m) => m).join(" and ");
    console.error(`playground: built ${PLAYGROUND_DIR}/ with ${models}`);
    if (!buildOnly) {
      servePlayground(PLAYGROUND_DIR, port, (address) => console.log(`playground: open ${address}`));
    }
  } catch (e) {
    console.error(`playground: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
