/**
 * `llada eval`: how likely a model finds some text.
 *
 * - `--file FILE`: the held-out upper bound on the negative log-likelihood (Eq. 4) of the file's text in bits per
 *   character, estimated with fixed-seed, stratified masks (Eq. 6), with its standard error over the scored
 *   sequences; for the autoregressive twin, its exact NLL. Characters the model's tokenizer has no id for are
 *   left out and counted (the policy of `tokenizer/coverage.ts`).
 * - `--prompt P --answer A`: the Monte Carlo estimate (Eq. 6, Algorithm 3) of `log p(A | P)` with its standard
 *   error; `--chat` wraps them in the chat template first (for SFT models).
 *
 * The result goes to standard output (one JSON object with `--json`); the backend, the model and what was left
 * out go to standard error.
 *
 * @module
 */

import { type CommandSpec, parseCommand, type ParsedArgs, UsageError } from "./args.ts";
import { BACKEND_OPTION, loadForCommand, MODEL_OPTION, status } from "./common.ts";
import { readPrompt } from "./sample.ts";
import { heldOutEstimate, makeEvalSet } from "../train/eval.ts";
import { estimateConditionalLogLikelihood } from "../llada/loss_bound.ts";
import { encodeChatPair } from "../tokenizer/chat.ts";
import { keepEncodable } from "../tokenizer/coverage.ts";
import { loadModel } from "../io/model_files.ts";
import type { LLaDAModel } from "../model/llada.ts";
import type { Tokenizer } from "../tokenizer/tokenizer.ts";
import { encodePrompt } from "../generate_text.ts";
import { InputError } from "../errors.ts";

/** The `eval` command's options. */
export const EVAL_SPEC: CommandSpec = {
  name: "eval",
  summary: "the bound in bits/char on a text file, or the likelihood of an answer given a prompt",
  description:
    `With --file, characters the model's tokenizer has no id for are left out of the scored text, and their
count is reported on stderr. The result goes to stdout: a line of text, or with --json one JSON object
(bits_per_char and std_err for --file; log_likelihood and std_err for --answer).`,
  options: {
    model: MODEL_OPTION,
    file: { type: "string", placeholder: "FILE", help: "UTF-8 text to score in bits/char (- for stdin)" },
    "seq-len": {
      type: "int",
      min: 2,
      help: "tokens per scored sequence (default: the model's max, at most 64)",
    },
    "max-seqs": { type: "int", default: 64, min: 1, help: "most sequences scored, spread over the file" },
    prompt: { type: "string", help: "the prompt of a conditional likelihood" },
    "prompt-file": { type: "string", placeholder: "FILE", help: "read the prompt from FILE (- for stdin)" },
    answer: { type: "string", help: "the answer whose likelihood given --prompt is estimated" },
    chat: { type: "boolean", help: "wrap --prompt/--answer in the chat template (SFT models)" },
    causal: { type: "boolean", help: "the model is the autoregressive twin (exact NLL)" },
    "mc-samples": { type: "int", default: 16, min: 1, help: "Monte Carlo mask samples per sequence" },
    cfg: {
      type: "number",
      default: 0,
      min: 0,
      help: "classifier-free guidance scale (conditional likelihood)",
    },
    seed: { type: "int", default: 0, help: "seed of the masks" },
    json: { type: "boolean", help: "print the result as one JSON object" },
    backend: BACKEND_OPTION,
  },
  examples: [
    "deno task llada eval --file README.md",
    'deno task llada eval --prompt "The jury said" --answer " that" --mc-samples 128',
    "deno task llada eval --model runs/demo --file docs/getting_started.md --max-seqs 16 --json",
  ],
};

/** Reads `--file` (`-`: standard input). */
async function readFile(file: string): Promise<string> {
  try {
    return file === "-" ? await new Response(Deno.stdin.readable).text() : await Deno.readTextFile(file);
  } catch (e) {
    throw new InputError(
      `--file ${file}`,
      e instanceof Deno.errors.NotFound ? "does not exist" : `cannot be read (${(e as Error).message})`,
      "give a readable UTF-8 text file, or - for standard input",
    );
  }
}

/** Runs `llada eval`; returns the exit code. */
export async function evalCommand(argv: string[]): Promise<number> {
  const args = parseCommand(EVAL_SPEC, argv);
  if (!args) return 0;
  const file = args.string("file");
  const answer = args.string("answer");
  if ((file === undefined) === (answer === undefined)) {
    throw new UsageError("eval needs either --file FILE or --answer TEXT (with --prompt), not both");
  }
  const text = file === undefined ? "" : await readFile(file);
  const promptText = answer === undefined ? "" : await readPrompt(args);
  const loaded = await loadForCommand(args);
  const { tokenizer, dir, backend } = loaded;
  const model = args.bool("causal") ? await loadModel(dir, { backend, causal: true }) : loaded.model;
  const mcSamples = args.number("mc-samples")!;
  const seed = args.number("seed")!;
  const json = args.bool("json");
  const where = { backend: backend.name, model: dir };
  const run: EvalRun = { args, model, tokenizer, mcSamples, seed, json, where };
  return file !== undefined ? await evalFile(run, file, text) : await evalAnswer(run, promptText, answer!);
}

/** What both kinds of evaluation share: the parsed options, the loaded model and where it runs. */
interface EvalRun {
  args: ParsedArgs;
  model: LLaDAModel;
  tokenizer: Tokenizer;
  mcSamples: number;
  seed: number;
  json: boolean;
  where: { backend: string; model: string };
}

/** `eval --file`: the held-out bound (or a twin's exact NLL) of a text, in bits per character. */
async function evalFile(run: EvalRun, file: string, text: string): Promise<number> {
  const { args, model, tokenizer, mcSamples, seed, json, where } = run;
  const max = model.config.max_sequence_length;
  const length = args.number("seq-len") ?? Math.min(64, max);
  if (length > max) {
    throw new UsageError(`--seq-len ${length} exceeds the model's max_sequence_length ${max}`);
  }
  const kept = keepEncodable(tokenizer, text);
  if (kept.leftOutCount > 0) {
    const examples = [...kept.leftOut].slice(0, 8).map(([ch, n]) => `${JSON.stringify(ch)} ×${n}`).join(
      ", ",
    );
    status(
      `note: left out ${kept.leftOutCount} of ${
        [...text].length
      } characters that the model's tokenizer has ` +
        `no id for (${examples}${kept.leftOut.size > 8 ? ", …" : ""})`,
    );
  }
  const tokens = tokenizer.encode(kept.text).length;
  if (tokens < length) {
    throw new InputError(
      `--file ${file}`,
      `has ${tokens} tokens the model can score, fewer than one sequence of ${length}`,
      "give a longer text, or a smaller --seq-len",
    );
  }
  const set = makeEvalSet([kept.text], tokenizer, { length, count: args.number("max-seqs")! });
  const { bitsPerChar, stdErr } = await heldOutEstimate(model, set, { mcSamples, seed });
  const what = model.causal ? "negative log-likelihood" : "upper bound on the negative log-likelihood";
  if (json) {
    console.log(JSON.stringify({
      file,
      bits_per_char: bitsPerChar,
      std_err: Number.isNaN(stdErr) ? null : stdErr,
      measure: what,
      sequences: set.sequences.length,
      sequence_length: length,
      characters: set.charCount,
      left_out_characters: kept.leftOutCount,
      mc_samples: model.causal ? null : mcSamples,
      seed,
      ...where,
    }));
    return 0;
  }
  const se = Number.isNaN(stdErr) ? "" : ` ± ${stdErr.toFixed(4)}`;
  console.log(
    `${file}: ${what} ${bitsPerChar.toFixed(4)}${se} bits/char (${set.sequences.length} sequences of ` +
      `${length} tokens, ${set.charCount} characters` +
      `${model.causal ? "" : `, ${mcSamples} mask samples each, seed ${seed}`})`,
  );
  return 0;
}

/** `eval --answer`: the conditional log-likelihood bound of an answer given a prompt (Eq. 6). */
async function evalAnswer(run: EvalRun, promptText: string, answer: string): Promise<number> {
  const { args, model, tokenizer, mcSamples, seed, json, where } = run;
  if (model.causal) throw new UsageError("--answer estimates a mask predictor's likelihood; drop --causal");
  const pair = args.bool("chat") ? encodeChatPair(tokenizer, promptText, answer) : {
    prompt: encodePrompt(tokenizer, promptText, args.has("prompt-file") ? "--prompt-file" : "--prompt"),
    response: encodePrompt(tokenizer, answer, "--answer"),
  };
  if (pair.prompt.length + pair.response.length > model.config.max_sequence_length) {
    throw new UsageError(
      `prompt + answer are ${pair.prompt.length + pair.response.length} tokens, more than the model's ` +
        `max_sequence_length ${model.config.max_sequence_length}`,
    );
  }
  const est = await estimateConditionalLogLikelihood(model, pair.prompt, pair.response, {
    maskId: tokenizer.maskId,
    mcSamples,
    batchSize: Math.min(16, mcSamples),
    cfgScale: args.number("cfg"),
    seed,
  });
  const chars = [...answer].length + (args.bool("chat") ? 1 : 0);
  if (json) {
    console.log(JSON.stringify({
      prompt: promptText,
      answer,
      log_likelihood: est.logLikelihood,
      std_err: Number.isNaN(est.stdErr) ? null : est.stdErr,
      bits_per_char: -est.logLikelihood / Math.LN2 / chars,
      samples: est.samples,
      ...where,
    }));
    return 0;
  }
  const se = Number.isNaN(est.stdErr) ? "" : ` ± ${est.stdErr.toFixed(3)}`;
  console.log(
    `log p(answer | prompt) ≥ ${est.logLikelihood.toFixed(3)}${se} nats ` +
      `(${(-est.logLikelihood / Math.LN2 / chars).toFixed(3)} bits/char over ${chars} characters, ` +
      `${est.samples} samples)`,
  );
  return 0;
}
