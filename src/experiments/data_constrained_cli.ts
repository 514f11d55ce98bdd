/**
 * `llada data-constrained`: the mask predictor and its autoregressive twin over 1, 4, 16 and 64 epochs of a small
 * Brown slice (`src/experiments/data_constrained.ts`), resumable cell by cell, results in `--out`.
 *
 * @module
 */

import { type CommandSpec, parseCommand, UsageError } from "../cli/args.ts";
import { BACKEND_OPTION, chooseBackend, status } from "../cli/common.ts";
import {
  DATA_CONSTRAINED_SETTINGS,
  EPOCHS,
  pendingCells,
  readCells,
  runCell,
  summariseSweep,
  sweepData,
  sweepMarkdown,
  type SweepSettings,
} from "./data_constrained.ts";

/** The `data-constrained` command's options. */
export const DATA_CONSTRAINED_SPEC: CommandSpec = {
  name: "data-constrained",
  summary: "both models over 1–64 epochs of a small Brown slice: held-out bound / NLL per epoch count",
  description:
    `Trains the mask predictor and its autoregressive twin (same shape, seed, batches, schedule) for ${
      EPOCHS.join(", ")
    } epochs of the same slice of the Brown training split, a fresh run per (model, epochs) cell, and scores each on
the held-out Brown documents (the mask predictor's bound, the twin's exact NLL, on the same tokens). Each finished
cell is appended to OUT/data_constrained.cells.jsonl and skipped when the command is run again, so the sweep can
be interrupted and resumed; OUT/data_constrained.{json,md} are rewritten after every cell.`,
  options: {
    out: { type: "string", default: "docs/results", placeholder: "DIR", help: "where the results go" },
    "train-chars": {
      type: "int",
      min: 100,
      default: DATA_CONSTRAINED_SETTINGS.trainChars,
      help: "characters of the Brown training split trained on",
    },
    epochs: {
      type: "string",
      default: EPOCHS.join(","),
      placeholder: "LIST",
      help: "epoch counts to run now (of " + EPOCHS.join(", ") + ")",
    },
    "eval-windows": {
      type: "int",
      min: 1,
      default: DATA_CONSTRAINED_SETTINGS.evalWindows,
      help: "held-out windows scored",
    },
    backend: {
      ...BACKEND_OPTION,
      default: "cpu",
      help: "compute backend; the CPU unless given, so that the written results reproduce bit for bit",
    },
  },
  examples: [
    "deno task llada data-constrained",
    "deno task llada data-constrained --epochs 1,4 --out runs/data-constrained",
  ],
};

/** Runs `llada data-constrained`. */
export async function dataConstrainedCommand(argv: string[]): Promise<number> {
  const args = parseCommand(DATA_CONSTRAINED_SPEC, argv);
  if (!args) return 0;
  const epochs = args.string("epochs")!.split(",").map((s) => Number(s.trim()));
  const unknown = epochs.filter((e) => !(EPOCHS as readonly number[]).includes(e));
  if (unknown.length > 0) {
    throw new UsageError(`--epochs: ${unknown.join(", ")} not among the sweep's ${EPOCHS.join(", ")}`);
  }
  const settings: SweepSettings = {
    ...DATA_CONSTRAINED_SETTINGS,
    trainChars: args.number("train-chars")!,
    evalWindows: args.number("eval-windows")!,
  };
  const out = args.string("out")!;
  await Deno.mkdir(out, { recursive: true });
  const cellsPath = `${out}/data_constrained.cells.jsonl`;
  const { backend, description } = await chooseBackend(args.string("backend"));
  status(description);
  const data = await sweepData(settings);
  status(`data: ${data.description}`);
  const command = ["deno task llada data-constrained", ...argv].join(" ");
  const done = await readCells(cellsPath, settings);
  const pending = pendingCells(done, epochs);
  status(`${done.length} cells done before, ${pending.length} to run`);
  const workDir = await Deno.makeTempDir({ prefix: "llada-data-constrained-" });
  try {
    for (const { model, epochs: e } of pending) {
      const cell = await runCell(model, e, data, settings, { backend, workDir });
      await Deno.writeTextFile(cellsPath, JSON.stringify(cell) + "\n", { append: true });
      done.push(cell);
      status(
        `${model} × ${e} epochs: ${cell.steps} steps, held-out ${cell.bpc} bits/char (${cell.seconds} s)`,
      );
      const summary = summariseSweep(done, { settings, data: data.description, command });
      await Deno.writeTextFile(`${out}/data_constrained.json`, JSON.stringify(summary, null, 2) + "\n");
      await Deno.writeTextFile(`${out}/data_constrained.md`, sweepMarkdown(summary));
    }
  } finally {
    await Deno.remove(workDir, { recursive: true });
  }
  console.log(JSON.stringify(summariseSweep(done, { settings, data: data.description, command })));
  return 0;
}
