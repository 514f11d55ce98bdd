/**
 * `llada eval`: how likely a model finds some text.
 *
 * - `--file FILE`: the held-out upper bound on the negative log-likelihood (Eq. 4) of the file's text in bits per
 *   character, estimated with fixed-seed, stratified masks (Eq. 6); for the autoregressive twin, its exact NLL.
 * - `--prompt P --answer A`: the Monte Carlo estimate (Eq. 6, Algorithm 3) of `log p(A | P)` with its standard
 *   error; `--chat` wraps them in the chat template first (for SFT models).
 *
 * @module
 */

import { type CommandSpec, parseCommand, UsageError } from "./args.ts";
import { BACKEND_OPTION, chooseBackend, loadModelAndTokenizer, MODEL_OPTION } from "./common.ts";
import { heldOutBitsPerChar, makeEvalSet } from "../train/eval.ts";
import { estimateConditionalLogLikelihood } from "../llada/loss_bound.ts";
import { encodeChatPair } from "../tokenizer/chat.ts";
import { loadModel } from "../io/model_files.ts";

/** The `eval` command's options. */
export const EVAL_SPEC: CommandSpec = {
  name: "eval",
  summary: "the bound in bits/char on a text file, or the likelihood of an answer given a prompt",
  options: {
    model: MODEL_OPTION,
    file: { type: "string", placeholder: "FILE", help: "UTF-8 text to score (bits/char)" },
    "seq-len": {
      type: "int",
      min: 2,
      help: "tokens per scored sequence (default: the model's max, at most 64)",
    },
    "max-seqs": { type: "int", default: 64, min: 1, help: "most sequences scored, spread over the file" },
    prompt: { type: "string", help: "the prompt of a conditional likelihood" },
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
    backend: BACKEND_OPTION,
  },
  examples: [
    "deno task llada eval --file README.md",
    'deno task llada eval --prompt "The jury said" --answer " that" --mc-samples 128',
    "deno task llada eval --model runs/brown-autoregressive --causal --file notes.txt",
  ],
};

/** Runs `llada eval`; returns the exit code. */
export async function evalCommand(argv: string[]): Promise<number> {
  const args = parseCommand(EVAL_SPEC, argv);
  if (!args) return 0;
  const file = args.string("file");
  const answer = args.string("answer");
  if ((file === undefined) === (answer === undefined)) {
    throw new UsageError("eval needs either --file FILE or --answer TEXT (with --prompt), not both");
  }
  let text = "";
  if (file !== undefined) {
    text = await Deno.readTextFile(file).catch((e) => {
      throw new UsageError(
        e instanceof Deno.errors.NotFound
          ? `file ${file} does not exist`
          : `cannot read ${file}: ${e.message}`,
      );
    });
  }
  const { backend } = await chooseBackend(args.string("backend"));
  const loaded = await loadModelAndTokenizer(args.string("model")!, backend);
  const { tokenizer, dir } = loaded;
  const model = args.bool("causal") ? await loadModel(dir, { backend, causal: true }) : loaded.model;
  const mcSamples = args.number("mc-samples")!;
  const seed = args.number("seed")!;

  if (file !== undefined) {
    const length = args.number("seq-len") ?? Math.min(64, model.config.max_sequence_length);
    if (length > model.config.max_sequence_length) {
      throw new UsageError(
        `--seq-len ${length} exceeds the model's max_sequence_length ${model.config.max_sequence_length}`,
      );
    }
    const set = makeEvalSet([text], tokenizer, { length, count: args.number("max-seqs")! });
    const bpc = await heldOutBitsPerChar(model, set, { mcSamples, seed });
    const what = model.causal ? "negative log-likelihood" : "upper bound on the negative log-likelihood";
    console.log(
      `${file}: ${what} ${
        bpc.toFixed(4)
      } bits/char (${set.sequences.length} sequences of ${length} tokens, ` +
        `${set.charCount} characters${model.causal ? "" : `, ${mcSamples} mask samples each, seed ${seed}`})`,
    );
    return 0;
  }

  if (model.causal) throw new UsageError("--answer estimates a mask predictor's likelihood; drop --causal");
  const promptText = args.string("prompt") ?? "";
  const pair = args.bool("chat")
    ? encodeChatPair(tokenizer, promptText, answer!)
    : { prompt: tokenizer.encode(promptText), response: tokenizer.encode(answer!) };
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
  const chars = [...answer!].length + (args.bool("chat") ? 1 : 0);
  const se = Number.isNaN(est.stdErr) ? "" : ` ± ${est.stdErr.toFixed(3)}`;
  console.log(
    `log p(answer | prompt) ≥ ${est.logLikelihood.toFixed(3)}${se} nats ` +
      `(${(-est.logLikelihood / Math.LN2 / chars).toFixed(3)} bits/char over ${chars} characters, ` +
      `${est.samples} samples)`,
  );
  return 0;
}
