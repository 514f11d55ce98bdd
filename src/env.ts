/**
 * Reading an environment variable wherever the code runs: Deno (with or without `--allow-env`), Node, a browser
 * or a notebook kernel. The library's switches (`LLADA_BACKEND`, `LLADA_TRACE`) read through this, so importing
 * the library never needs a permission and never throws.
 *
 * @module
 */

/** The variable's value, or undefined where it is unset or the environment cannot be read (no permission, browsers). */
export function readEnv(name: string): string | undefined {
  try {
    return (globalThis as { Deno?: { env: { get(name: string): string | undefined } } }).Deno?.env.get(
      name,
    ) ??
      (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env[name];
  } catch {
    return undefined; // Deno without --allow-env throws NotCapable
  }
}
