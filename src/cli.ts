/**
 * The llada-ts command line: `deno task llada <command> [options]`.
 *
 *     train    pre-train / fine-tune (SFT) / train the autoregressive twin, resumable
 *     sample   generate text with the reverse process; --show-steps prints the denoising trace
 *     eval     the held-out bound in bits/char of a text file; the likelihood of an answer given a prompt
 *     chat     talk to an SFT model, one stdin line per user turn
 *     bench    tokens per second of training steps (the whole benchmark suite is `deno task bench`)
 *
 * Each command has `--help`. A user's mistake (an unknown option, a bad value, a missing file) is reported as
 * one line on stderr with a non-zero exit code, never a stack trace; set `LLADA_DEBUG=1` to see the stack of
 * an unexpected error.
 *
 * @module
 */

import { suggest, UsageError } from "./cli/args.ts";
import { trainCommand } from "./cli/train.ts";
import { sampleCommand } from "./cli/sample.ts";
import { evalCommand } from "./cli/eval.ts";
import { chatCommand } from "./cli/chat.ts";
import { benchCommand } from "./cli/bench.ts";
import { traceFlushed } from "./trace.ts";

/** The commands and their one-line summaries. */
const COMMANDS: Record<string, { run: (argv: string[]) => Promise<number>; summary: string }> = {
  train: { run: trainCommand, summary: "train a model (pre-training, SFT, or the autoregressive twin)" },
  sample: { run: sampleCommand, summary: "generate text; --show-steps prints the denoising trace" },
  eval: { run: evalCommand, summary: "held-out bound in bits/char; likelihood of an answer given a prompt" },
  chat: { run: chatCommand, summary: "multi-turn chat with an SFT model (reads stdin)" },
  bench: { run: benchCommand, summary: "tokens per second of training steps (the suite: deno task bench)" },
};

/** The top-level help. */
function usage(): string {
  return [
    "llada-ts: a masked diffusion language model (LLaDA) in TypeScript",
    "",
    "Usage: deno task llada <command> [options]",
    "",
    "Commands:",
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(8)}${c.summary}`),
    "",
    "Run `deno task llada <command> --help` for a command's options.",
  ].join("\n");
}

/** Runs the CLI on `argv` and returns the exit code (errors are printed, not thrown). */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
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
    return error instanceof UsageError ? 2 : 1;
  }
}

if (import.meta.main) {
  const code = await main(Deno.args);
  await traceFlushed(); // LLADA_TRACE=2 and 3 print their lines as the read-backs arrive
  Deno.exit(code);
}
