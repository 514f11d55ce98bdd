/**
 * `llada bench`: tokens per second of full training steps for a model size, batch and sequence length of your
 * choice on a chosen backend. (The project's whole benchmark suite is `deno task bench`, in `bench/`.)
 *
 * @module
 */

import { type CommandSpec, parseCommand } from "./args.ts";
import { BACKEND_OPTION, chooseBackend, MODEL_PRESETS } from "./common.ts";
import { measureTrainStep } from "../train/step_timer.ts";

/** The `bench` command's options. */
export const BENCH_SPEC: CommandSpec = {
  name: "bench",
  summary: "tokens per second of training steps (the whole benchmark suite: deno task bench)",
  options: {
    size: { type: "string", default: "tiny", choices: Object.keys(MODEL_PRESETS), help: "model size preset" },
    vocab: { type: "int", default: 90, min: 6, help: "vocabulary size" },
    batch: { type: "int", default: 32, min: 1, help: "rows per batch" },
    "seq-len": { type: "int", default: 64, min: 2, help: "tokens per row" },
    steps: { type: "int", default: 5, min: 1, help: "timed steps (after 2 warm-up steps)" },
    backend: BACKEND_OPTION,
  },
  examples: ["deno task llada bench --size small --batch 16 --seq-len 128"],
};

/** Runs `llada bench`; prints one JSON line and returns the exit code. */
export async function benchCommand(argv: string[]): Promise<number> {
  const args = parseCommand(BENCH_SPEC, argv);
  if (!args) return 0;
  const { backend } = await chooseBackend(args.string("backend"));
  const shape = MODEL_PRESETS[args.string("size")!];
  const vocab = args.number("vocab")!;
  const length = args.number("seq-len")!;
  const config = {
    ...shape,
    vocab_size: vocab,
    max_sequence_length: length,
    mask_token_id: 0,
    eos_token_id: 1,
  };
  const result = await measureTrainStep(backend, config, {
    label: args.string("size")!,
    batch: args.number("batch")!,
    length,
    steps: args.number("steps")!,
  });
  console.log(JSON.stringify(result));
  return 0;
}
