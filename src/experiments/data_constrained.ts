/**
 * Masked diffusion against its autoregressive twin when data is scarce (after Prabhudesai et al. 2025, "Diffusion
 * Beats Autoregressive in Data-Constrained Settings"): both models train on the same small slice of the Brown
 * training split for 1, 4, 16 and 64 epochs, each epoch count a fresh run, and are scored on the held-out Brown
 * documents — the mask predictor by its Eq. 4 bound, the twin by its exact NLL, on exactly the same tokens
 * (`train/eval.ts`).
 *
 * ```
 * for epochs in 1, 4, 16, 64:                      one "cell" per (model, epochs)
 *   for model in mask predictor, twin:             same shape, seed, data, batches and learning-rate schedule
 *     steps = epochs · ⌈rows / batch⌉               the schedule (warmup, stable, decay) is stretched to the run
 *     train a fresh model; score the held-out set  bits/char
 * crossover = the fewest epochs at which the mask predictor's bound is below the twin's NLL (if any)
 * ```
 *
 * The bound is an upper bound on the mask predictor's NLL, so a crossover found with it is conservative. Each
 * finished cell is appended to `data_constrained.cells.jsonl` in the output folder, and a rerun skips the cells
 * already there (with the same settings), so a long sweep can be stopped and resumed; `data_constrained.{json,md}`
 * are rewritten from the cells after each one.
 *
 * @module
 */

import type { Backend } from "../backend/backend.ts";
import { createModel } from "../model/llada.ts";
import { loadBrown } from "../data/brown.ts";
import { splitTrainValid } from "../data/split.ts";
import { Rng } from "../rng.ts";
import { packSequences, type TokenRows } from "../data/packing.ts";
import { CharTokenizer } from "../tokenizer/char.ts";
import type { Tokenizer } from "../tokenizer/tokenizer.ts";
import { type EvalSet, heldOutEstimate, makeEvalSet } from "../train/eval.ts";
import { train } from "../train/trainer.ts";
import { trainSettings } from "../train/settings.ts";
import { type ModelShape, tokenizerConfig } from "../train/model_config.ts";

/** What a sweep fixes: data, model, batches and evaluation (the epochs vary). */
export interface SweepSettings {
  /** Characters of the Brown training split trained on (whole documents in a seeded order, the last one cut). */
  trainChars: number;
  /** Held-out windows scored. */
  evalWindows: number;
  /** Monte Carlo samples per window for the bound. */
  evalSamples: number;
  /** The network's shape (both models). */
  shape: ModelShape;
  /** Tokens per row. */
  seqLength: number;
  /** Rows per batch. */
  batchSize: number;
  /** Peak learning rate. */
  lr: number;
  /** Seed of the slice, the weights, the batches and the masks. */
  seed: number;
}

/**
 * The sweep of `llada data-constrained`: 16,000 training characters (250 rows, 32 steps an epoch), so the eight
 * cells (2,720 steps per model over the four epoch counts, and the held-out scoring) fit in two hours on a shared
 * two-core CPU.
 */
export const DATA_CONSTRAINED_SETTINGS: SweepSettings = {
  trainChars: 16_000,
  evalWindows: 48,
  evalSamples: 16,
  shape: { d_model: 64, n_layers: 2, n_heads: 2, mlp_hidden_size: 192 },
  seqLength: 64,
  batchSize: 8,
  lr: 3e-3,
  seed: 0,
};

/** The epoch counts of the sweep. */
export const EPOCHS = [1, 4, 16, 64] as const;

/** One finished (model, epochs) run. */
export interface Cell {
  /** `mdm`: the mask predictor; `arm`: the autoregressive twin. */
  model: "mdm" | "arm";
  /** Passes over the training slice. */
  epochs: number;
  /** Optimiser steps. */
  steps: number;
  /** Held-out bits per character: the bound (mdm) or the exact NLL (arm). */
  bpc: number;
  /** Its standard error over the held-out windows. */
  std_err: number;
  /** Mean training loss of the last logging window. */
  train_loss: number;
  /** Wall time, seconds (shared machine: indicative only). */
  seconds: number;
  /** The settings it ran with (a cell is reused only under the same settings). */
  settings: SweepSettings;
}

/** The data of a sweep: the tokenizer, the training rows, the held-out set. */
export interface SweepData {
  tokenizer: Tokenizer;
  rows: TokenRows;
  evalSet: EvalSet;
  /** One line on what the slice holds. */
  description: string;
}

/**
 * The training slice and the held-out set: the Brown split of `llada train --corpus brown` (10 % of documents held
 * out, split seed 0); training documents in the seed's order until `trainChars` characters; the held-out windows
 * spread over all held-out documents.
 *
 * @param texts the documents to use instead of Brown (tests).
 */
export async function sweepData(settings: SweepSettings, texts?: readonly string[]): Promise<SweepData> {
  const docs = texts ?? (await loadBrown()).map((d) => d.text);
  const split = splitTrainValid(docs, { validFraction: 0.1, seed: 0 });
  const tokenizer = CharTokenizer.fromTexts(docs);
  const order = new Rng(settings.seed).permutation(split.train.length);
  const slice: string[] = [];
  let chars = 0;
  for (const i of order) {
    if (chars >= settings.trainChars) break;
    const text = split.train[i].slice(0, settings.trainChars - chars);
    slice.push(text);
    chars += text.length;
  }
  const rows = packSequences(slice.map((t) => tokenizer.encode(t)), settings.seqLength, {
    eosId: tokenizer.eosId,
  });
  const evalSet = makeEvalSet(split.valid, tokenizer, {
    length: settings.seqLength,
    count: settings.evalWindows,
  });
  return {
    tokenizer,
    rows,
    evalSet,
    description: `${slice.length} training documents cut to ${chars} characters (${rows.rows} rows of ` +
      `${settings.seqLength}); ${evalSet.sequences.length} held-out windows from ${split.valid.length} documents`,
  };
}

/** Optimiser steps for `epochs` passes over the rows: every row seen `epochs` times, batches completed. */
export function stepsFor(epochs: number, rows: number, batchSize: number): number {
  return Math.max(1, Math.ceil((epochs * rows) / batchSize));
}

/** Trains one fresh model for `epochs` passes over the slice and scores it on the held-out set. */
export async function runCell(
  model: Cell["model"],
  epochs: number,
  data: SweepData,
  settings: SweepSettings,
  options: { backend: Backend; workDir: string },
): Promise<Cell> {
  const t0 = performance.now();
  const causal = model === "arm";
  const network = await createModel(
    { ...settings.shape, ...tokenizerConfig(data.tokenizer), max_sequence_length: settings.seqLength },
    { seed: settings.seed, backend: options.backend, causal },
  );
  const steps = stepsFor(epochs, data.rows.rows, settings.batchSize);
  const runDir = `${options.workDir}/${model}-${epochs}`;
  await Deno.remove(runDir, { recursive: true }).catch(() => {});
  const result = await train({
    model: network,
    data: data.rows,
    settings: trainSettings({
      objective: causal ? "autoregressive" : "pretrain",
      steps,
      batchSize: settings.batchSize,
      lr: settings.lr,
      seed: settings.seed,
      checkpointEvery: 0,
      logEvery: Math.min(10, steps),
    }),
    runDir,
  });
  if (result.status !== "completed") throw new Error(`${model}, ${epochs} epochs: ${result.message}`);
  const score = await heldOutEstimate(network, data.evalSet, { mcSamples: settings.evalSamples, seed: 0 });
  await Deno.remove(runDir, { recursive: true });
  return {
    model,
    epochs,
    steps,
    bpc: round(score.bitsPerChar),
    std_err: round(score.stdErr),
    train_loss: round(result.loss),
    seconds: Math.round((performance.now() - t0) / 100) / 10,
    settings,
  };
}

/** Four decimals. */
function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

/** The cells of a sweep, as in `data_constrained.cells.jsonl`, keeping only those run with `settings`. */
export async function readCells(path: string, settings: SweepSettings): Promise<Cell[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  const same = JSON.stringify(settings);
  return text.split("\n").filter((l) => l.trim() !== "").map((l, i) => {
    try {
      return JSON.parse(l) as Cell;
    } catch {
      throw new Error(`${path}:${i + 1}: not a JSON line; remove the line (the cell will be run again)`);
    }
  }).filter((c) => JSON.stringify(c.settings) === same);
}

/** The cells still to run, in sweep order (fewest epochs first, the mask predictor before the twin). */
export function pendingCells(
  done: readonly Cell[],
  epochs: readonly number[] = EPOCHS,
): { model: Cell["model"]; epochs: number }[] {
  const have = new Set(done.map((c) => `${c.model}:${c.epochs}`));
  return epochs.flatMap((e) => (["mdm", "arm"] as const).map((model) => ({ model, epochs: e })))
    .filter((c) => !have.has(`${c.model}:${c.epochs}`));
}

/** The summary of `data_constrained.json`. */
export interface SweepSummary {
  /** The settings of the sweep. */
  settings: SweepSettings;
  /** What was trained on. */
  data: string;
  /** The command that ran it. */
  command: string;
  /** Per epoch count: each model's held-out bits/char (null for a cell not run yet). */
  epochs: {
    epochs: number;
    steps: number | null;
    mdm: number | null;
    arm: number | null;
    mdm_std_err: number | null;
    arm_std_err: number | null;
  }[];
  /** The fewest epochs at which the mask predictor scores below the twin, when the twin was better before. */
  crossover: number | null;
  /** Whether every cell has run. */
  complete: boolean;
}

/** Folds cells into the summary, finding the crossover. */
export function summariseSweep(
  cells: readonly Cell[],
  meta: { settings: SweepSettings; data: string; command: string },
): SweepSummary {
  const find = (model: Cell["model"], e: number) => cells.find((c) => c.model === model && c.epochs === e);
  const epochs = EPOCHS.map((e) => {
    const m = find("mdm", e);
    const a = find("arm", e);
    return {
      epochs: e,
      steps: m?.steps ?? a?.steps ?? null,
      mdm: m?.bpc ?? null,
      arm: a?.bpc ?? null,
      mdm_std_err: m?.std_err ?? null,
      arm_std_err: a?.std_err ?? null,
    };
  });
  let crossover: number | null = null;
  let twinAhead = false;
  for (const row of epochs) {
    if (row.mdm === null || row.arm === null) continue;
    if (row.arm < row.mdm) twinAhead = true;
    else if (twinAhead && crossover === null) crossover = row.epochs;
  }
  return { ...meta, epochs, crossover, complete: epochs.every((r) => r.mdm !== null && r.arm !== null) };
}

/** The Markdown report of a sweep. */
export function sweepMarkdown(s: SweepSummary): string {
  const f = (
    x: number | null,
    se: number | null,
  ) => (x === null ? "not run" : `${x.toFixed(3)} ± ${(se ?? 0).toFixed(3)}`);
  const ran = s.epochs.filter((r) => r.mdm !== null && r.arm !== null);
  const best = (k: "mdm" | "arm") => {
    const rows = s.epochs.filter((r) => r[k] !== null);
    return rows.length === 0 ? null : rows.reduce((a, b) => (b[k]! < a[k]! ? b : a));
  };
  const reading: string[] = [];
  if (ran.length === 0) {
    reading.push("No cell has run yet.");
  } else {
    const bm = best("mdm");
    const ba = best("arm");
    reading.push(
      `The mask predictor's best bound is ${bm!.mdm!.toFixed(3)} bits/char at ${
        bm!.epochs
      } epochs; the twin's best ` +
        `NLL is ${ba!.arm!.toFixed(3)} at ${ba!.epochs} epochs.`,
    );
    reading.push(
      s.crossover !== null
        ? `The twin is ahead at fewer epochs and the mask predictor's bound drops below it from ${s.crossover} epochs on.`
        : ran.every((r) => r.mdm! < r.arm!)
        ? "The mask predictor's bound is below the twin's NLL at every epoch count run."
        : ran.every((r) => r.arm! < r.mdm!)
        ? "The twin's NLL is below the mask predictor's bound at every epoch count run: no crossover at this scale."
        : "The order of the two changes without a clean crossover.",
    );
    if (!s.complete) reading.push("The sweep is not complete: rerun the command to run the missing cells.");
  }
  return [
    "# Masked diffusion vs its autoregressive twin when data is scarce",
    "",
    "Written by `llada data-constrained` (`src/experiments/data_constrained.ts`) from `data_constrained.json`; do not",
    "edit by hand. Both models have the same shape, seed, batches and learning-rate schedule; each epoch count is a",
    "fresh run. Held-out bits per character on the Brown validation documents: the mask predictor's Eq. 4 upper",
    "bound, the twin's exact NLL, scored on exactly the same tokens; ± one standard error over the windows.",
    "",
    `Data: ${s.data}. Model: d_model ${s.settings.shape.d_model}, ${s.settings.shape.n_layers} layers; batches of ` +
    `${s.settings.batchSize} × ${s.settings.seqLength} tokens; lr ${s.settings.lr}; seed ${s.settings.seed}.`,
    "",
    "```",
    s.command,
    "```",
    "",
    "| epochs | steps | mask predictor (bound) | twin (NLL) |",
    "| ---: | ---: | ---: | ---: |",
    ...s.epochs.map((r) =>
      `| ${r.epochs} | ${r.steps ?? "–"} | ${f(r.mdm, r.mdm_std_err)} | ${f(r.arm, r.arm_std_err)} |`
    ),
    "",
    reading.join(" "),
    "",
  ].join("\n");
}
