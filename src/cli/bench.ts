/**
 * `llada bench`: the project's benchmarks (`bench/main.ts`, JSON lines), or `--train-step`: tokens per second of
 * full training steps for a model size, batch and sequence length of your choice on a chosen backend.
 *
 * @module
 */

import { type CommandSpec, formatHelp, parseArgs, UsageError } from "./args.ts";
import { BACKEND_CHOICES, chooseBackend, MODEL_PRESETS } from "./common.ts";
import { benchTrainStep } from "../../bench/model_benches.ts";

/** The `bench` command's options. */
export const BENCH_SPEC: CommandSpec = {
  name: "bench",
  summary: "run bench/main.ts (arguments after -- are passed on), or a training-step benchmark",
  options: {
    "train-step": { type: "boolean", help: "benchmark training steps instead of running bench/main.ts" },
    size: { type: "string", default: "tiny", choices: Object.keys(MODEL_PRESETS), help: "model size preset" },
    vocab: { type: "int", default: 90, min: 6, help: "vocabulary size" },
    batch: { type: "int", default: 32, min: 1, help: "rows per batch" },
    "seq-len": { type: "int", default: 64, min: 2, help: "tokens per row" },
    steps: { type: "int", default: 5, min: 1, help: "timed steps (after 2 warm-up steps)" },
    backend: {
      type: "string",
      choices: BACKEND_CHOICES,
      help: "compute backend (default $LLADA_BACKEND or auto)",
    },
  },
  examples: [
    "deno task llada bench --train-step --size small --batch 16 --seq-len 128",
    "deno task llada bench -- --help",
  ],
};

/** Runs `llada bench`; returns the exit code. */
export async function benchCommand(argv: string[]): Promise<number> {
  const split = argv.indexOf("--");
  const own = split < 0 ? argv : argv.slice(0, split);
  const passed = split < 0 ? [] : argv.slice(split + 1);
  const args = parseArgs(BENCH_SPEC, own);
  if (args.help) {
    console.log(formatHelp(BENCH_SPEC));
    return 0;
  }
  if (!args.bool("train-step")) {
    const main = new URL("../../bench/main.ts", import.meta.url);
    if (!(await Deno.stat(main).then((s) => s.isFile, () => false))) {
      throw new UsageError("bench/main.ts is not in this checkout; use --train-step");
    }
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", main.pathname, ...passed],
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    return (await child.status).code;
  }
  if (passed.length > 0) throw new UsageError("--train-step takes no arguments after --");
  const { backend } = await chooseBackend(args.string("backend"));
  const shape = MODEL_PRESETS[args.string("size")!];
  const vocab = args.number("vocab")!;
  const batch = args.number("batch")!;
  const length = args.number("seq-len")!;
  await benchTrainStep(backend, {
    config: { ...shape, vocab_size: vocab, max_sequence_length: length, mask_token_id: 0, eos_token_id: 1 },
    label: args.string("size")!,
    batch,
    length,
    steps: args.number("steps")!,
  });
  return 0;
}
