/**
 * Loading and compiling `shaders/*.wgsl`, and turning compiler messages into `file:line:column` errors.
 *
 * Each shader file is one primitive family. WGSL has no includes, so `shaders/common.wgsl` (small helpers every
 * kernel uses) is appended to each file before compiling it; appending rather than prepending keeps the line
 * numbers of the file's own code unchanged, and a message about the appended part is reported against
 * `common.wgsl` with its own line number.
 *
 * The files are found relative to this module (`import.meta.url`), so the backend works from any working
 * directory: read from disk for `file:` URLs (Deno and Node), fetched otherwise (remote imports). A bundle for
 * the browser carries the texts themselves (`LLADA_BUNDLED_SHADERS`), so a page needs no shader files.
 * Node's file API is imported only on the disk path, so nothing here needs it in a browser.
 *
 * @module
 */

/**
 * The text of every shader file by name, when a bundler defined it at build time (the playground's build does:
 * `scripts/playground.ts` passes esbuild `define: { LLADA_BUNDLED_SHADERS: … }`); not defined anywhere else.
 */
declare const LLADA_BUNDLED_SHADERS: Readonly<Record<string, string>> | undefined;

/** The shader files, one per primitive family (without `.wgsl`). */
export const SHADER_FILES = [
  "copy",
  "elementwise",
  "reduce",
  "matmul",
  "softmax",
  "rmsnorm",
  "rope",
  "embedding",
  "cross_entropy",
  "attention",
  "adamw",
  "sampling",
] as const;

/** One of {@link SHADER_FILES}. */
export type ShaderFile = typeof SHADER_FILES[number];

/** The file appended to every shader. */
const COMMON = "common";

/** The URL of `shaders/<name>.wgsl`. */
function shaderUrl(name: string): URL {
  return new URL(`../../../shaders/${name}.wgsl`, import.meta.url);
}

/** The text of `shaders/<name>.wgsl`. */
export async function readShader(name: string): Promise<string> {
  if (typeof LLADA_BUNDLED_SHADERS !== "undefined") {
    const text = LLADA_BUNDLED_SHADERS[name];
    if (text === undefined) throw new Error(`WebGPU backend: the bundle has no shader ${name}.wgsl`);
    return text;
  }
  const url = shaderUrl(name);
  try {
    if (url.protocol === "file:") {
      const { readFile } = await import("node:fs/promises");
      return await readFile(url, "utf8");
    }
    const response = await fetch(url);
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return await response.text();
  } catch (e) {
    throw new Error(`WebGPU backend: cannot read shader ${url.href}: ${(e as Error).message}`);
  }
}

/** Where a line of the compiled source (the file, then common.wgsl, then any generated text) came from. */
function sourceLine(file: string, fileLines: number, commonLines: number, line: number): string {
  if (line <= fileLines) return `shaders/${file}.wgsl:${line}`;
  if (line <= fileLines + commonLines) return `shaders/${COMMON}.wgsl:${line - fileLines}`;
  return `(text generated for shaders/${file}.wgsl):${line - fileLines - commonLines}`;
}

/**
 * Reads and compiles every shader file. Throws one error listing every compiler error as
 * `shaders/<file>.wgsl:<line>:<column>: <message>`. `read` supplies the text of a file by name (the default reads
 * `shaders/`; tests pass a broken file to check the messages). `generated` is WGSL appended to a file after
 * common.wgsl: declarations the host derives from its own definitions (the op numbering of elementwise.wgsl).
 */
export async function compileShaders(
  device: GPUDevice,
  read: (name: string) => Promise<string> = readShader,
  generated: Partial<Record<ShaderFile, string>> = {},
): Promise<Map<ShaderFile, GPUShaderModule>> {
  const common = await read(COMMON);
  const commonLines = common.split("\n").length;
  const texts = await Promise.all(SHADER_FILES.map(read));
  const modules = new Map<ShaderFile, GPUShaderModule>();
  const errors: string[] = [];
  // One file at a time: error scopes form a stack, which concurrent compilations would interleave.
  for (const [i, file] of SHADER_FILES.entries()) {
    const text = texts[i];
    const fileLines = text.split("\n").length;
    device.pushErrorScope("validation");
    const code = `${text}\n${common}\n${generated[file] ?? ""}`;
    const module = device.createShaderModule({ label: `shaders/${file}.wgsl`, code });
    const info = await module.getCompilationInfo();
    const scoped = await device.popErrorScope();
    for (const m of info.messages) {
      if (m.type !== "error") continue;
      const where = `${sourceLine(file, fileLines, commonLines, m.lineNum)}:${m.linePos}`;
      errors.push(`${where}: ${m.message.trim()}`);
    }
    if (scoped && !info.messages.some((m) => m.type === "error")) {
      errors.push(`shaders/${file}.wgsl: ${scoped.message.trim()}`);
    }
    modules.set(file, module);
  }
  if (errors.length > 0) {
    throw new Error(`WebGPU backend: shader compilation failed:\n${errors.join("\n")}`);
  }
  return modules;
}
