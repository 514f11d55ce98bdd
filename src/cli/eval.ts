/**
 * `llada eval`: how likely a model finds some text.
 *
 * - `--file FILE`: the held-out upper bound on the negative log-likelihood (Eq. 4) of the file's text in bits per
 *   character, estimated with fixed-seed, stratified masks (Eq. 6), with its standard error over the scored
 *   sequences; for the autoregressive twin, its exact NLL. Characters the model's tokenizer has no id for are
 *   left out and counted (the policy of `tokenizer/coverage.ts`).
 * - `--heldout brown`: the same on the held-out documents of the Brown split the shipped models were trained with
 *   (split seed `--split-seed`, a tenth of the documents), each document followed by EOS as in training: the
 *   figure a shipped model's card states.
 * - `--compare DIR` (with `--file` or `--heldout`): a second model scored on exactly the same windows, characters
 *   and masks — the mask predictor's bound beside its autoregressive twin's exact NLL — and the ratio of the two.
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
import { loadPretrained } from "../pretrained.ts";
import { heldOutDocuments } from "../train/corpus.ts";
import type { EvalSet } from "../train/eval.ts";
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
    heldout: {
      type: "string",
      placeholder: "CORPUS",
      help: "score the held-out split of a corpus instead of --file (brown: the shipped models' split)",
    },
    "split-seed": { type: "int", default: 0, help: "seed of the --heldout split (the training run's)" },
    compare: {
      type: "string",
      placeholder: "DIR",
      help: "score a second model (e.g. the twin) on the same windows, and print the ratio",
    },
    "seq-len": {
      type: "int",
      min: 2,
      help: "tokens per scored sequence (default: the model's max; at most 64 with --file)",
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
    "deno task llada eval --heldout brown --max-seqs 4 --mc-samples 4",
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
  const heldout = args.string("heldout");
  const answer = args.string("answer");
  if ([file, heldout, answer].filter((x) => x !== undefined).length !== 1) {
    throw new UsageError(
      "eval needs exactly one of --file FILE, --heldout CORPUS or --answer TEXT (with --prompt)",
    );
  }
  if (answer !== undefined && args.has("compare")) {
    throw new UsageError("--compare scores a second model on a text: use it with --file or --heldout");
  }
  const source = heldout !== undefined
    ? await heldOutSource(heldout, args.number("split-seed")!)
    : file !== undefined
    ? { name: file, texts: [await readFile(file)] }
    : undefined;
  const promptText = answer === undefined ? "" : await readPrompt(args);
  const loaded = await loadForCommand(args);
  const { tokenizer, dir, backend } = loaded;
  const model = args.bool("causal") ? await loadModel(dir, { backend, causal: true }) : loaded.model;
  const mcSamples = args.number("mc-samples")!;
  const seed = args.number("seed")!;
  const json = args.bool("json");
  const where = { backend: backend.name, model: dir };
  const run: EvalRun = { args, model, tokenizer, mcSamples, seed, json, where };
  return source ? await evalText(run, source) : await evalAnswer(run, promptText, answer!);
}

/** Text to score: its documents, and a name for messages (the file, or `brown (held out)`). */
interface TextSource {
  name: string;
  texts: string[];
  /** Whether each document ends with EOS, as in training (held-out splits); a `--file` is one window stream. */
  heldout?: boolean;
}

/** The held-out documents of a corpus's split, as training made them. */
async function heldOutSource(corpus: string, splitSeed: number): Promise<TextSource> {
  if (corpus !== "brown") {
    throw new InputError(
      `--heldout ${corpus}`,
      "is not a corpus with a fixed held-out split",
      "use --heldout brown (the shipped models' split), or --file with your own text",
    );
  }
  const texts = await heldOutDocuments({ corpus, splitSeed });
  return { name: `brown (held out, split seed ${splitSeed})`, texts, heldout: true };
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

/** `eval --file`/`--heldout`: the bound (or a twin's exact NLL) of a text in bits per character, maybe of two models. */
async function evalText(run: EvalRun, source: TextSource): Promise<number> {
  const { args, model, tokenizer, mcSamples, seed, json, where } = run;
  const max = model.config.max_sequence_length;
  const length = args.number("seq-len") ?? (source.heldout ? max : Math.min(64, max));
  if (length > max) {
    throw new UsageError(`--seq-len ${length} exceeds the model's max_sequence_length ${max}`);
  }
  const set = encodableEvalSet(source, tokenizer, length, args.number("max-seqs")!);
  const first = await heldOutEstimate(model, set, { mcSamples, seed });
  const compareDir = args.string("compare");
  const second = compareDir === undefined ? undefined : await compareWith(compareDir, run, set);
  const ratio = second ? first.bitsPerChar / second.bitsPerChar : undefined;
  if (json) {
    const figures = (m: LLaDAModel, r: HeldOut) => ({
      bits_per_char: r.bitsPerChar,
      std_err: Number.isNaN(r.stdErr) ? null : r.stdErr,
      measure: measureOf(m),
      mc_samples: m.causal ? null : mcSamples,
    });
    console.log(JSON.stringify({
      text: source.name,
      ...(source.heldout ? {} : { file: source.name }),
      ...figures(model, first),
      sequences: set.sequences.length,
      sequence_length: length,
      characters: set.charCount,
      left_out_characters: set.leftOut,
      seed,
      ...where,
      ...(second ? { compare: { model: second.dir, ...figures(second.model, second) }, ratio } : {}),
    }));
    return 0;
  }
  const line = (m: LLaDAModel, r: HeldOut, dir: string) =>
    `${dir}: ${measureOf(m)} ${r.bitsPerChar.toFixed(4)}${
      Number.isNaN(r.stdErr) ? "" : ` ± ${r.stdErr.toFixed(4)}`
    } bits/char${m.causal ? "" : ` (${mcSamples} mask samples per sequence, seed ${seed})`}`;
  console.log(
    `${source.name}: ${set.sequences.length} sequences of ${length} tokens, ${set.charCount} characters`,
  );
  console.log(line(model, first, where.model));
  if (second) {
    console.log(line(second.model, second, second.dir));
    console.log(`ratio (${where.model} / ${second.dir}): ${ratio!.toFixed(4)}`);
  }
  return 0;
}

/** A figure in bits per character with its standard error (NaN for a single sequence). */
interface HeldOut {
  bitsPerChar: number;
  stdErr: number;
}

/** What a model's figure is: the exact NLL for the twin, the bound (Eq. 4) for the mask predictor. */
function measureOf(model: LLaDAModel): string {
  return model.causal ? "negative log-likelihood" : "upper bound on the negative log-likelihood";
}

/**
 * The windows to score: the source's documents without the characters the tokenizer has no id for (reported on
 * stderr), cut as training cuts held-out text.
 */
function encodableEvalSet(
  source: TextSource,
  tokenizer: Tokenizer,
  length: number,
  count: number,
): EvalSet & { leftOut: number } {
  const kept = source.texts.map((t) => keepEncodable(tokenizer, t));
  const leftOut = kept.reduce((n, k) => n + k.leftOutCount, 0);
  if (leftOut > 0) {
    const counts = new Map<string, number>();
    for (const k of kept) for (const [ch, n] of k.leftOut) counts.set(ch, (counts.get(ch) ?? 0) + n);
    const examples = [...counts].slice(0, 8).map(([ch, n]) => `${JSON.stringify(ch)} ×${n}`).join(", ");
    const total = source.texts.reduce((n, t) => n + [...t].length, 0);
    status(
      `note: left out ${leftOut} of ${total} characters that the model's tokenizer has no id for ` +
        `(${examples}${counts.size > 8 ? ", …" : ""})`,
    );
  }
  const texts = kept.map((k) => k.text);
  const tokens = texts.reduce((n, t) => n + tokenizer.encode(t).length + (source.heldout ? 1 : 0), 0);
  if (tokens < length) {
    throw new InputError(
      source.heldout ? `--heldout` : `--file ${source.name}`,
      `has ${tokens} tokens the model can score, fewer than one sequence of ${length}`,
      "give a longer text, or a smaller --seq-len",
    );
  }
  return { ...makeEvalSet(texts, tokenizer, { length, count }), leftOut };
}

/**
 * `--compare DIR`: the second model, on the first one's backend, scored on the same set. Its tokenizer must be
 * the first one's (the same ids), or the figures would not be of the same characters.
 */
async function compareWith(
  dir: string,
  run: EvalRun,
  set: EvalSet,
): Promise<HeldOut & { model: LLaDAModel; dir: string }> {
  const other = await loadPretrained(dir, { backend: run.model.backend });
  if (JSON.stringify(other.tokenizer.toJSON()) !== JSON.stringify(run.tokenizer.toJSON())) {
    throw new InputError(
      `--compare ${dir}`,
      `has another tokenizer than ${run.where.model}, so the two would not score the same tokens`,
      "compare models trained with the same tokenizer (a mask predictor and its twin)",
    );
  }
  status(`compare: ${other.dir} (${other.model.parameterCount.toLocaleString("en-US")} parameters)`);
  const r = await heldOutEstimate(other.model, set, { mcSamples: run.mcSamples, seed: run.seed });
  return { ...r, model: other.model, dir: other.dir };
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
