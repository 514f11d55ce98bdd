/**
 * `llada reversal`: the reversal experiment (`src/experiments/reversal.ts`) from the command line — both models
 * trained and tested per seed, results written to `reversal.{json,md}` in `--out`.
 *
 * @module
 */

import { type CommandSpec, parseCommand, UsageError } from "../cli/args.ts";
import { BACKEND_OPTION, chooseBackend, status } from "../cli/common.ts";
import { InputError } from "../errors.ts";
import { parseReversalPairs, type ReversalPair } from "../data/reversal.ts";
import {
  genLengthOf,
  REVERSAL_PRESETS,
  reversalTokenizer,
  runReversalSeed,
  type SeedResult,
  summarise,
  writeReversalResults,
} from "./reversal.ts";

/** The `reversal` command's options. */
export const REVERSAL_SPEC: CommandSpec = {
  name: "reversal",
  summary:
    "the reversal curse: the mask predictor against its autoregressive twin, forward and reversal questions",
  description:
    `Pre-trains both models on every item written forward, instruction-tunes them on a subset asked both
ways (chat template), and tests the other items both ways, scoring as the official eval_reverse.py (the
expected half occurs in the answer) and by exact match. Presets:
${Object.entries(REVERSAL_PRESETS).map(([name, p]) => `  ${name.padEnd(10)}${p.summary}`).join("\n")}
Results (means over seeds and each seed's values) go to OUT/reversal.json, under the preset's name (other
presets' results are kept), and OUT/reversal.md, which sets them beside the paper's Table 4.`,
  options: {
    preset: { type: "string", choices: Object.keys(REVERSAL_PRESETS), help: "which experiment (required)" },
    seeds: {
      type: "string",
      default: "0,1,2",
      placeholder: "LIST",
      help: "comma-separated seeds, one run of both models each",
    },
    pairs: {
      type: "string",
      placeholder: "FILE",
      help: 'poems: test couplets, a JSON list of {"first", "second", "source"} (the official format)',
    },
    out: { type: "string", default: "docs/results", placeholder: "DIR", help: "where reversal.{json,md} go" },
    "pretrain-steps": { type: "int", min: 1, help: "pre-training steps (default: the preset's)" },
    "tune-steps": { type: "int", min: 1, help: "instruction-tuning steps (default: the preset's)" },
    backend: {
      ...BACKEND_OPTION,
      default: "cpu",
      help: "compute backend; the CPU unless given, so that the written results reproduce bit for bit",
    },
  },
  examples: [
    "deno task llada reversal --preset synthetic --seeds 0,1,2",
    "deno task llada reversal --preset poems --seeds 0",
    "deno task llada reversal --preset poems --pairs reverse_poems.json --seeds 0 --out runs/reversal",
  ],
};

/** `"0,1,2"` → `[0, 1, 2]`. */
export function parseSeeds(text: string): number[] {
  const seeds = text.split(",").map((s) => s.trim());
  if (seeds.some((s) => !/^\d+$/.test(s))) {
    throw new UsageError(
      `--seeds ${JSON.stringify(text)}: expected comma-separated non-negative integers, e.g. 0,1,2`,
    );
  }
  const values = seeds.map(Number);
  if (new Set(values).size !== values.length) throw new UsageError(`--seeds ${text}: a seed is given twice`);
  return values;
}

/** Reads `--pairs FILE`. */
async function readPairs(file: string): Promise<ReversalPair[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    throw new InputError(
      `--pairs ${file}`,
      `cannot be read (${(e as Error).message})`,
      "give an existing JSON file",
    );
  }
  return parseReversalPairs(text, file);
}

/** Runs `llada reversal`. */
export async function reversalCommand(argv: string[]): Promise<number> {
  const args = parseCommand(REVERSAL_SPEC, argv);
  if (!args) return 0;
  const name = args.string("preset") as keyof typeof REVERSAL_PRESETS | undefined;
  if (!name) throw new UsageError(`--preset is required: one of ${Object.keys(REVERSAL_PRESETS).join(", ")}`);
  const seeds = parseSeeds(args.string("seeds")!);
  if (args.has("pairs") && name !== "poems") {
    throw new UsageError("--pairs gives test couplets of the poems preset; use it with --preset poems");
  }
  const preset = REVERSAL_PRESETS[name];
  const scale = {
    ...preset.scale,
    pretrain: {
      ...preset.scale.pretrain,
      steps: args.number("pretrain-steps") ?? preset.scale.pretrain.steps,
    },
    tune: { ...preset.scale.tune, steps: args.number("tune-steps") ?? preset.scale.tune.steps },
  };
  const task = await preset.task(args.has("pairs") ? await readPairs(args.string("pairs")!) : undefined);
  const { backend, description } = await chooseBackend(args.string("backend"));
  status(description);
  status(task.description);
  const workDir = await Deno.makeTempDir({ prefix: "llada-reversal-" });
  const results: SeedResult[] = [];
  try {
    for (const seed of seeds) {
      const r = await runReversalSeed(task, scale, seed, { backend, workDir });
      status(
        `seed ${seed}: mask predictor forward ${r.mdm.forward.toFixed(3)} reversal ${
          r.mdm.reversal.toFixed(3)
        }; ` +
          `twin forward ${r.arm.forward.toFixed(3)} reversal ${r.arm.reversal.toFixed(3)} ` +
          `(${r.seconds.mdm} s + ${r.seconds.arm} s)`,
      );
      results.push(r);
    }
  } finally {
    await Deno.remove(workDir, { recursive: true });
  }
  const command = ["deno task llada reversal", ...argv].join(" ");
  const result = summarise(results, {
    command,
    task,
    scale,
    genLength: genLengthOf(task, reversalTokenizer(task)),
  });
  await writeReversalResults(args.string("out")!, name, result);
  console.log(JSON.stringify({ [name]: { mdm: pick(result.mdm), arm: pick(result.arm), seeds } }));
  return 0;
}

/** The headline numbers of a model's summary. */
function pick(m: { forward: number; reversal: number }): { forward: number; reversal: number } {
  return { forward: m.forward, reversal: m.reversal };
}
