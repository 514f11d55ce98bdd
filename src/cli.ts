/**
 * The llada-ts command line: `deno task llada <command> [options]`.
 *
 *     train    pre-train / fine-tune (SFT) / train the autoregressive twin, resumable
 *     sample   generate text with the reverse process; --show-steps prints the denoising trace
 *     eval     the held-out bound in bits/char of a text file; the likelihood of an answer given a prompt
 *     chat     talk to an SFT model, one stdin line per user turn
 *     bench    tokens per second of training steps (the whole benchmark suite is `deno task bench`)
 *     reversal          the reversal curse: the mask predictor against its autoregressive twin
 *     data-constrained  both models over 1–64 epochs of a small Brown slice: held-out bound/NLL per epoch count
 *
 * Each command has `--help` (also `llada help <command>`); `llada --version` prints the version. Results go to
 * stdout, status (the backend, the model, progress) to stderr. A user's mistake (an unknown option, a bad value,
 * a missing or malformed file, a request the model cannot serve: a `UsageError`, an `InputError` or a
 * `ConfigError`) is reported as one line on stderr with exit code 2, never a stack trace; anything else is a bug,
 * reported with exit code 1 (set `LLADA_DEBUG=1` to see its stack).
 *
 * @module
 */

import { suggest, UsageError } from "./cli/args.ts";
import { InputError } from "./errors.ts";
import { ConfigError } from "./model/config.ts";
import { SafetensorsError } from "./io/safetensors_format.ts";
import { VERSION } from "./version.ts";
import { trainCommand } from "./cli/train.ts";
import { sampleCommand } from "./cli/sample.ts";
import { evalCommand } from "./cli/eval.ts";
import { chatCommand } from "./cli/chat.ts";
import { benchCommand } from "./cli/bench.ts";
import { reversalCommand } from "./experiments/reversal_cli.ts";
import { dataConstrainedCommand } from "./experiments/data_constrained_cli.ts";
import { traceFlushed } from "./trace.ts";

/** The commands and their one-line summaries. */
const COMMANDS: Record<string, { run: (argv: string[]) => Promise<number>; summary: string }> = {
  train: { run: trainCommand, summary: "train a model (pre-training, SFT, or the autoregressive twin)" },
  sample: { run: sampleCommand, summary: "generate text; --show-steps prints the denoising trace" },
  eval: { run: evalCommand, summary: "held-out bound in bits/char; likelihood of an answer given a prompt" },
  chat: { run: chatCommand, summary: "multi-turn chat with an SFT model (reads stdin)" },
  bench: { run: benchCommand, summary: "tokens per second of training steps (the suite: deno task bench)" },
  reversal: { run: reversalCommand, summary: "the reversal curse: mask predictor vs autoregressive twin" },
  "data-constrained": {
    run: dataConstrainedCommand,
    summary: "mask predictor vs twin over 1–64 epochs of a small Brown slice",
  },
};

/** The width of the command names' column in the top-level help. */
const NAME_WIDTH = Math.max(...Object.keys(COMMANDS).map((name) => name.length)) + 2;

/** The top-level help. */
function usage(): string {
  return [
    "llada-ts: a masked diffusion language model (LLaDA) in TypeScript",
    "",
    "Usage: deno task llada <command> [options]",
    "",
    "Commands:",
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(NAME_WIDTH)}${c.summary}`),
    "",
    "Run `deno task llada help <command>` (or `<command> --help`) for a command's options;",
    "`deno task llada --version` prints the version.",
  ].join("\n");
}

/** Runs the CLI on `argv` and returns the exit code (errors are printed, not thrown). */
export async function main(argv: string[]): Promise<number> {
  const [first, ...afterFirst] = argv;
  if (first === "--version" || first === "-V") {
    console.log(`llada-ts ${VERSION}`);
    return 0;
  }
  // `help <command>` is `<command> --help`; `help` alone (or no command) is the overview.
  const [name, rest] = first === "help" && afterFirst.length > 0
    ? [afterFirst[0], ["--help"]]
    : [first, afterFirst];
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  try {
    if (!command) {
      const near = suggest(name, Object.keys(COMMANDS));
      throw new UsageError(
        `unknown command ${JSON.stringify(name)}` +
          (near ? `; did you mean ${near}?` : `; expected one of ${Object.keys(COMMANDS).join(", ")}`),
      );
    }
    return await command.run(rest);
  } catch (e) {
    const error = e instanceof Error ? e : new Error(String(e));
    if (Deno.env.get("LLADA_DEBUG")) console.error(error.stack);
    console.error(`error: ${error.message}`);
    const userError = error instanceof UsageError || error instanceof InputError ||
      error instanceof ConfigError || error instanceof SafetensorsError;
    return userError ? 2 : 1;
  }
}

if (import.meta.main) {
  const code = await main(Deno.args);
  await traceFlushed(); // LLADA_TRACE=2 and 3 print their lines as the read-backs arrive
  Deno.exit(code);
}
