/**
 * Whether a WebGPU adapter exists, asked in a child process (`deno eval`), for tests that only run WebGPU in
 * subprocesses: a test file's own thread never touches WebGPU, so it cannot race libglvnd's destructor at the
 * test runner's exit (see docs/webgpu_teardown.md).
 *
 * @module
 */

const DEVICE = new URL("../src/backend/webgpu/device.ts", import.meta.url).href;

/** The adapter probe's answer: whether one was found, and why not. */
export interface AdapterProbe {
  /** An adapter exists (llvmpipe counts). */
  found: boolean;
  /** Why none was found ("" when one was). */
  reason: string;
}

/** Asks a child Deno process whether `navigator.gpu` gives an adapter. */
export async function probeAdapter(): Promise<AdapterProbe> {
  const code = `const { findAdapter } = await import(${JSON.stringify(DEVICE)});
const { adapter, reason } = await findAdapter();
console.log(JSON.stringify({ found: adapter !== null, reason: adapter ? "" : reason }));`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (out.code !== 0 || text === "") {
    return { found: false, reason: `the probe failed: ${new TextDecoder().decode(out.stderr).trim()}` };
  }
  return JSON.parse(text);
}
