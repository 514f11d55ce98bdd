/**
 * The op trace: one line per op as it runs, to see what a forward or backward pass actually does.
 *
 * Levels, set by the environment variable `LLADA_TRACE` or by {@link setTrace} (tinygrad's `DEBUG=` in spirit):
 * - `1` — the op, its inputs' and outputs' dtypes and shapes, the backend, and on WebGPU every WGSL kernel it
 *   dispatched (`file.wgsl:entry` and the workgroup count);
 * - `2` — also summary statistics of each output (mean, std, min, max, NaN count), read back at that point;
 * - `3` — also the host time since the previous op's line.
 *
 * Where the lines come from: every op ends by calling `record` in `autograd.ts`, which hands its name, inputs and
 * output here; the backward walk in `tensor.ts` reports each op's backward the same way (as `matmul.backward`,
 * its outputs being the inputs' gradients); the WebGPU dispatch recorder (`backend/webgpu/recorder.ts`) reports
 * each kernel it records, and the kernels are printed on the next op line, which is the op that dispatched them.
 * Each of those places checks {@link traceLevel} first, so with tracing off (the default) no line, string or
 * read-back is made: the cost is one comparison per op.
 *
 * Reading back (levels 2 and 3) is asynchronous on WebGPU, so from level 2 on every line waits for its values and
 * lines are printed in order as they arrive; {@link traceFlushed} waits for the last one. Reading back also
 * submits each op's kernels on their own, so a traced run is slower and its WebGPU work counters differ (its
 * results do not). The level-3 time is host time: on the CPU backend, the op's arithmetic (plus whatever the
 * caller did since the previous op); on WebGPU, the time to record the op's dispatches, since the GPU runs them
 * later (`llada bench` measures GPU time per kernel).
 *
 * What it leaves out: primitives called outside an op (the optimiser's in-place update) are not lines of their
 * own, so their kernels appear on the next op's line.
 *
 * @module
 */

import type { TypedArray } from "./backend/backend.ts";
import type { Tensor } from "./tensor.ts";
import { readEnv } from "./env.ts";

/** The environment variable read when the module loads. */
export const TRACE_ENV = "LLADA_TRACE";

/** 0 (off), 1 (ops, shapes, kernels), 2 (+ output statistics), 3 (+ time per op). */
export type TraceLevel = 0 | 1 | 2 | 3;

/** Options of {@link setTrace}. */
export interface TraceOptions {
  /** Where each line goes (default: standard error, `console.error`). */
  write?: (line: string) => void;
}

/** Parses `LLADA_TRACE`; an unreadable value turns tracing off and says what was expected. */
function levelFromEnv(): TraceLevel {
  const value = readEnv(TRACE_ENV);
  if (value === undefined || value === "") return 0;
  const level = Number(value);
  if ([0, 1, 2, 3].includes(level)) return level as TraceLevel;
  console.error(`${TRACE_ENV}=${value} is not a trace level; expected 0 (off), 1, 2 or 3. Tracing is off.`);
  return 0;
}

let level: TraceLevel = levelFromEnv();
let write: (line: string) => void = (line) => console.error(line);
/** Lines numbered from 1 since the last {@link setTrace}, so a conditional breakpoint can name one. */
let count = 0;
/** Kernels dispatched since the last op line (WebGPU only). */
let kernels: string[] = [];
/** From level 2: the promise of the last line printed, so lines come out in order. */
let printed: Promise<void> = Promise.resolve();
/** Level 3: when the previous line was made (ms, `performance.now()`). */
let last = 0;

/** The current trace level; callers check it before calling anything else here. */
export function traceLevel(): TraceLevel {
  return level;
}

/**
 * Sets the trace level (overriding `LLADA_TRACE`) and optionally where lines go, and restarts the line count.
 *
 * @example
 * ```ts
 * setTrace(1);                                   // every op from here on, to standard error
 * const lines: string[] = [];
 * setTrace(2, { write: (l) => lines.push(l) }); // into an array (tests, notebooks)
 * ```
 */
export function setTrace(newLevel: TraceLevel, options: TraceOptions = {}): void {
  if (![0, 1, 2, 3].includes(newLevel)) {
    throw new Error(`setTrace: expected a level of 0 (off), 1, 2 or 3, got ${newLevel}`);
  }
  level = newLevel;
  write = options.write ?? ((line) => console.error(line));
  count = 0;
  kernels = [];
  last = performance.now();
}

/**
 * Resolves once every line made so far has been printed. From level 2 lines wait for their read-backs (and on
 * the CPU backend for the program to yield), so a program that ends with `Deno.exit` awaits this first.
 */
export function traceFlushed(): Promise<void> {
  return printed;
}

/**
 * Notes a WGSL dispatch; it is printed on the next op's line. Called by the WebGPU dispatch recorder when
 * tracing is on.
 */
export function traceKernel(file: string, entry: string, workgroups: readonly number[]): void {
  const [x, y, z] = workgroups;
  const grid = y === 1 && z === 1 ? `${x}` : `${x}×${y}×${z}`;
  kernels.push(`${file}.wgsl:${entry}(${grid} wg)`);
}

/** A line that is not an op, such as the start of a sampling step, printed in order with the ops. */
export function traceNote(text: string): void {
  emit(`── ${text}`, [], false);
}

/**
 * Prints one op's line: `#n op  inputs → outputs  backend  kernels`. Called by `record` (every op) and by the
 * backward walk when tracing is on. `outputs` may hold nulls (an input that receives no gradient).
 */
export function traceOp(op: string, inputs: readonly Tensor[], outputs: readonly (Tensor | null)[]): void {
  const real = outputs.filter((t): t is Tensor => t !== null);
  const backend = (real[0] ?? inputs[0])?.backend.name ?? "";
  const from = inputs.map(describe).join(", ");
  const to = outputs.map((t) => (t ? describe(t) : "none")).join(", ");
  const parts = [`${`#${++count}`.padEnd(6)}${op.padEnd(18)}`, from ? `${from} → ${to}` : `→ ${to}`, backend];
  if (kernels.length > 0) parts.push(kernels.join(", "));
  kernels = [];
  emit(parts.join("  "), real, true);
}

/** `f32[2,12,64]`. */
function describe(t: Tensor): string {
  return `${t.dtype}[${t.shape.join(",")}]`;
}

/**
 * Prints `line` now (level 1) or, from level 2, after reading `outputs` back and appending their statistics; at
 * level 3 an op's line (`timed`) also gets the time since the previous op's.
 */
function emit(line: string, outputs: readonly Tensor[], timed: boolean): void {
  if (level === 3 && timed) {
    const now = performance.now();
    line += `  ${(now - last).toFixed(3)} ms`;
    last = now;
  }
  if (level < 2) {
    write(line);
    return;
  }
  // The read is issued now, so it sees the values the op produced even if the tensor is disposed right after;
  // the statistics are computed as soon as the values arrive, so only the line waits for its turn.
  const stats = Promise.all(outputs.map((t) => t.backend.read(t.storage))).then(
    (values) => values.map(summary),
    (e: Error) => [`(reading the output back failed: ${e.message})`],
  );
  const out = write;
  printed = printed.then(async () => {
    const s = await stats;
    out(s.length > 0 ? `${line}  ${s.join(" ; ")}` : line);
  });
}

/** `mean=… std=… min=… max=… nan=…` over the values that are not NaN. */
function summary(values: TypedArray): string {
  let n = 0;
  let nan = 0;
  let sum = 0;
  let sumSq = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (Number.isNaN(v)) {
      nan++;
      continue;
    }
    n++;
    sum += v;
    sumSq += v * v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const mean = n > 0 ? sum / n : NaN;
  const std = n > 0 ? Math.sqrt(Math.max(0, sumSq / n - mean * mean)) : NaN;
  const g = (x: number) => Number(x.toPrecision(4)).toString();
  return `mean=${g(mean)} std=${g(std)} min=${g(min)} max=${g(max)} nan=${nan}`;
}
