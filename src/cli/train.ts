/**
 * `llada train`: pre-train a mask predictor (or its autoregressive twin) or fine-tune one (SFT) on a corpus,
 * with held-out evaluation, checkpoints, Ctrl-C handling and `--resume`.
 *
 * The run directory records everything needed to continue: `checkpoint/trainer_state.json` holds the training
 * settings and, under `cli`, how the data and the model were made (corpus, split seed, sequence length,
 * tokenizer), so `--resume` needs only `--run-dir` (and optionally a larger `--steps`).
 *
 * @module
 */

import { type CommandSpec, parseCommand, type ParsedArgs, UsageError } from "./args.ts";
import { BACKEND_OPTION, chooseBackend, MODEL_PRESETS, tokenizerConfig } from "./common.ts";
import { loadPretrained } from "../pretrained.ts";
import {
  CORPUS_NAMES,
  type CorpusSettings,
  formatCount,
  prepareCorpus,
  type PreparedCorpus,
} from "../train/corpus.ts";
import {
  type EvalSet,
  makeEvalSet,
  makePairEvalSet,
  tokenUnigramBaseline,
  unigramBaseline,
} from "../train/eval.ts";
import { checkpointDir, readRunState, trainInterruptibly, type TrainResult } from "../train/trainer.ts";
import { RESUMABLE_SETTINGS, type TrainSettings, trainSettings } from "../train/settings.ts";
import type { TimeBudget } from "../train/time_budget.ts";
import { OBJECTIVES } from "../train/step.ts";
import { MASK_COUNTS, TIME_SAMPLINGS } from "../llada/forward_masking.ts";
import { createProgress } from "../train/progress.ts";
import { createModel, type LLaDAModel } from "../model/llada.ts";
import type { Backend } from "../backend/backend.ts";
import { loadModel, saveModel } from "../io/model_files.ts";
import { type Tokenizer, TOKENIZER_TYPES, tokenizerFromJSON } from "../tokenizer/tokenizer.ts";
import type { TokenRows } from "../data/packing.ts";

/** The `train` command's options. */
export const TRAIN_SPEC: CommandSpec = {
  name: "train",
  summary: "train a LLaDA mask predictor (or its autoregressive twin) on a corpus",
  description:
    `Pre-training packs documents into rows of --seq-len tokens; --objective sft trains on prompt/response
pairs (copy, reversal, tang couplets, or a file of "prompt<TAB>response" lines) with the chat template;
--objective autoregressive trains the causal twin for comparison. The held-out bound (bits/char) is
evaluated every --eval-every steps with fixed masks; checkpoints go to <run-dir>/checkpoint and metrics to
<run-dir>/metrics.jsonl. Ctrl-C finishes the step, saves and exits; --resume continues bit-identically.`,
  options: {
    corpus: {
      type: "string",
      default: "brown",
      placeholder: `${CORPUS_NAMES.join("|")}|FILE`,
      help: "training text: a named corpus or a UTF-8 text file",
    },
    objective: {
      type: "string",
      default: "pretrain",
      choices: OBJECTIVES,
      help: "what to train",
    },
    "run-dir": {
      type: "string",
      placeholder: "DIR",
      help: "where checkpoints and metrics go (default runs/<corpus>-<objective>)",
    },
    resume: { type: "boolean", help: "continue the run in --run-dir from its checkpoint" },
    size: { type: "string", default: "tiny", choices: Object.keys(MODEL_PRESETS), help: "model size preset" },
    "d-model": { type: "int", min: 2, help: "hidden size (overrides --size)" },
    layers: { type: "int", min: 1, help: "transformer blocks (overrides --size)" },
    heads: { type: "int", min: 1, help: "attention heads (overrides --size)" },
    mlp: { type: "int", min: 1, help: "MLP hidden size (overrides --size)" },
    "init-std": { type: "number", default: 0.02, min: 0, help: "standard deviation of the initial weights" },
    "rope-theta": { type: "number", default: 10000, min: 1, help: "RoPE base θ" },
    "embedding-size": {
      type: "int",
      min: 1,
      help:
        "rows of the embedding and the output layer (default: the vocabulary, rounded up to a multiple of 16)",
    },
    init: {
      type: "string",
      placeholder: "MODEL_DIR",
      help: "start from this model's weights and tokenizer (fine-tuning)",
    },
    "seq-len": { type: "int", default: 64, min: 2, help: "tokens per training row" },
    tokenizer: {
      type: "string",
      default: "char",
      choices: Object.keys(TOKENIZER_TYPES),
      help: "tokenizer to build",
    },
    "vocab-size": {
      type: "int",
      min: 6,
      help: "BPE vocabulary size (default 512), or most symbols kept (char)",
    },
    count: { type: "int", default: 2000, min: 2, help: "number of examples of a synthetic corpus" },
    "valid-fraction": {
      type: "number",
      default: 0.1,
      min: 0.001,
      max: 0.9,
      help: "fraction of documents held out",
    },
    steps: { type: "int", default: 1000, min: 1, help: "optimiser steps" },
    batch: { type: "int", default: 16, min: 1, help: "rows per batch" },
    lr: { type: "number", default: 3e-3, min: 0, help: "peak learning rate" },
    warmup: { type: "int", min: 0, help: "warmup steps (default 5% of --steps)" },
    decay: { type: "int", min: 0, help: "final decay steps (default 20% of --steps)" },
    "final-lr": { type: "number", min: 0, help: "learning rate after the decay (default lr/10)" },
    "weight-decay": { type: "number", default: 0.1, min: 0, help: "AdamW weight decay" },
    clip: { type: "number", default: 1, min: 0, help: "gradient-norm clip (0: none)" },
    "time-sampling": {
      type: "string",
      default: "iid",
      choices: TIME_SAMPLINGS,
      help: "pre-training times t: i.i.d. per row (official) or stratified over the batch (lower variance)",
    },
    "mask-count": {
      type: "string",
      default: "independent",
      choices: MASK_COUNTS,
      help:
        "pre-training masks: each token with probability t (official, Eq. 3) or exactly l ~ U{1..L} (Eq. 6)",
    },
    seed: { type: "int", default: 0, help: "seed of the weights, the data order and the masks" },
    "log-every": { type: "int", default: 10, min: 1, help: "a metrics line every N steps" },
    "eval-every": {
      type: "int",
      min: 0,
      help: "held-out evaluation every N steps (default steps/10; 0: at the end)",
    },
    "eval-seqs": { type: "int", default: 64, min: 1, help: "held-out sequences evaluated" },
    "eval-samples": {
      type: "int",
      default: 16,
      min: 1,
      help: "Monte Carlo mask samples per held-out sequence",
    },
    "checkpoint-every": {
      type: "int",
      min: 0,
      help: "checkpoint every N steps (default steps/5; 0: at the end)",
    },
    export: { type: "string", placeholder: "DIR", help: "after training, save the model + tokenizer here" },
    backend: BACKEND_OPTION,
  },
  examples: [
    "deno task llada train --corpus brown --size tiny --steps 600 --batch 32 --run-dir runs/brown",
    "deno task llada train --run-dir runs/brown --resume",
    "deno task llada train --corpus reversal --objective sft --steps 400 --seq-len 48",
    "deno task llada train --corpus docs/llada_walkthrough.md --objective autoregressive --steps 300",
  ],
};

/** How the CLI made the data and the model; saved in the checkpoint so `--resume` can rebuild both. */
export interface CliRecord {
  corpus: CorpusSettings;
  evalSeqs: number;
  export?: string;
}

/** The options that are not training settings and may be given with `--resume`. */
const RESUME_OPTIONS = ["run-dir", "resume", "backend", "export"];

/**
 * Runs `llada train`; returns the process exit code. `extra.timeBudget` fits the run (new or resumed) to a
 * wall-clock budget (`train/time_budget.ts`); the CLI itself has no such option, the shipped models' script does.
 */
export async function trainCommand(argv: string[], extra: { timeBudget?: TimeBudget } = {}): Promise<number> {
  const args = parseCommand(TRAIN_SPEC, argv);
  if (!args) return 0;
  const { backend, description } = await chooseBackend(args.string("backend"));
  const corpusName = args.string("corpus")!;
  const runDir = args.string("run-dir") ??
    `runs/${corpusName.replace(/^.*\//, "").replace(/\.[^.]*$/, "")}-${args.string("objective")}`;
  const start = args.bool("resume") ? await resumedRun(args, runDir, backend) : await newRun(args, backend);
  const { settings, record } = start;
  // A new run without --init builds its tokenizer from the corpus; otherwise the model's tokenizer is kept.
  const prepared = await prepareCorpus(record.corpus, start.tokenizer);
  const tokenizer = start.tokenizer ?? prepared.tokenizer;
  const model = start.model ?? await newModel(args, tokenizer, record, settings, backend);
  const evalSet: EvalSet = settings.objective === "sft"
    ? makePairEvalSet(prepared.validPairs, tokenizer, record.evalSeqs)
    : makeEvalSet(prepared.validTexts, tokenizer, {
      length: record.corpus.seqLength,
      count: record.evalSeqs,
    });
  describeRun({ prepared, model, settings, record, evalSet, runDir, description });

  const result = await trainOnCorpus({
    model,
    prepared,
    tokenizer,
    settings,
    runDir,
    evalSet,
    resume: args.bool("resume"),
    record,
    timeBudget: extra.timeBudget,
  });
  if (result.status === "diverged") {
    console.error(`error: ${result.message}`);
    return 1;
  }
  console.log(result.message);
  if (result.evalBpc !== null) console.log(`held-out bound: ${result.evalBpc.toFixed(4)} bits/char`);
  if (result.status === "interrupted") return 130;
  if (record.export) {
    await saveModel(record.export, model, {
      extraFiles: { "tokenizer.json": JSON.stringify(tokenizer.toJSON()) },
    });
    console.log(`model saved to ${record.export}`);
  }
  return 0;
}

/** Where a run starts: its settings and record, and the model and tokenizer when they come from disk. */
interface RunStart {
  settings: TrainSettings;
  record: CliRecord;
  model?: LLaDAModel;
  tokenizer?: Tokenizer;
}

/**
 * `--resume`: everything comes from the checkpoint; only the settings that may change on resume
 * ({@link RESUMABLE_SETTINGS}) and the options that are not settings may be given.
 */
async function resumedRun(args: ParsedArgs, runDir: string, backend: Backend): Promise<RunStart> {
  const state = await readRunState(runDir);
  if (!state) {
    throw new UsageError(
      `there is no checkpoint to resume in ${checkpointDir(runDir)}; start without --resume`,
    );
  }
  const resumable = Object.entries(RESUMABLE_SETTINGS).filter(([, option]) => option !== null) as [
    keyof TrainSettings,
    string,
  ][];
  const allowed = new Set([...RESUME_OPTIONS, ...resumable.map(([, option]) => option)]);
  const conflicting = [...args.values.keys()].filter((k) => !allowed.has(k));
  if (conflicting.length > 0) {
    throw new UsageError(
      `--resume continues the run with its saved settings; drop ${
        conflicting.map((k) => `--${k}`).join(", ")
      }`,
    );
  }
  const dir = checkpointDir(runDir);
  const tokenizer = tokenizerFromJSON(await Deno.readTextFile(`${dir}/tokenizer.json`));
  const model = await loadModel(dir, { backend, causal: state.settings.objective === "autoregressive" });
  // Options left out keep the run's values (their defaults do not apply when resuming).
  const changes = Object.fromEntries(
    resumable.filter(([, option]) => args.has(option)).map(([key, option]) => [key, args.number(option)]),
  );
  const settings = trainSettings({ ...trainSettings(state.settings), ...changes });
  let record = state.cli as CliRecord;
  if (args.has("export")) record = { ...record, export: args.string("export") };
  return { settings, record, model, tokenizer };
}

/** A new run: its corpus, its settings, and the `--init` model and tokenizer when fine-tuning. */
async function newRun(args: ParsedArgs, backend: Backend): Promise<RunStart> {
  const objective = args.string("objective") as TrainSettings["objective"];
  const seqLength = args.number("seq-len")!;
  const corpus: CorpusSettings = {
    corpus: args.string("corpus")!,
    objective,
    seqLength,
    tokenizer: args.string("tokenizer") as CorpusSettings["tokenizer"],
    vocabSize: args.number("vocab-size"),
    splitSeed: args.number("seed")!,
    validFraction: args.number("valid-fraction"),
    syntheticCount: args.number("count"),
  };
  const record = { corpus, evalSeqs: args.number("eval-seqs")!, export: args.string("export") };
  const settings = trainSettings({
    objective,
    steps: args.number("steps")!,
    batchSize: args.number("batch")!,
    lr: args.number("lr")!,
    warmupSteps: args.number("warmup"),
    decaySteps: args.number("decay"),
    finalLr: args.number("final-lr"),
    weightDecay: args.number("weight-decay"),
    clip: args.number("clip"),
    timeSampling: args.string("time-sampling") as TrainSettings["timeSampling"],
    maskCount: args.string("mask-count") as TrainSettings["maskCount"],
    seed: args.number("seed"),
    logEvery: args.number("log-every"),
    evalEvery: args.number("eval-every"),
    checkpointEvery: args.number("checkpoint-every"),
    evalSamples: args.number("eval-samples"),
  });
  const init = args.string("init");
  if (!init) return { settings, record };
  const initModel = await loadPretrained(init, { backend });
  if (initModel.model.config.max_sequence_length < seqLength) {
    throw new UsageError(
      `--seq-len ${seqLength} exceeds the --init model's max_sequence_length ` +
        `${initModel.model.config.max_sequence_length}`,
    );
  }
  // The twin and the mask predictor share weights' shapes: --init may switch between them.
  const causal = objective === "autoregressive";
  const model = initModel.model.causal === causal
    ? initModel.model
    : await loadModel(initModel.dir, { backend, causal, switchObjective: true });
  return { settings, record, model, tokenizer: initModel.tokenizer };
}

/** A freshly initialised network of the `--size` preset (or the explicit shape options) for the tokenizer. */
function newModel(
  args: ParsedArgs,
  tokenizer: Tokenizer,
  record: CliRecord,
  settings: TrainSettings,
  backend: Backend,
): Promise<LLaDAModel> {
  const preset = MODEL_PRESETS[args.string("size")!];
  const config = {
    d_model: args.number("d-model") ?? preset.d_model,
    n_layers: args.number("layers") ?? preset.n_layers,
    n_heads: args.number("heads") ?? preset.n_heads,
    mlp_hidden_size: args.number("mlp") ?? preset.mlp_hidden_size,
    ...tokenizerConfig(tokenizer),
    ...(args.has("embedding-size") ? { embedding_size: args.number("embedding-size")! } : {}),
    max_sequence_length: record.corpus.seqLength,
    rope_theta: args.number("rope-theta"),
    init_std: args.number("init-std"),
  };
  if (config.d_model % config.n_heads !== 0 || (config.d_model / config.n_heads) % 2 !== 0) {
    throw new UsageError(
      `--d-model ${config.d_model} must be a multiple of 2 × --heads ${config.n_heads} (even head size for RoPE)`,
    );
  }
  return createModel(config, {
    seed: settings.seed,
    backend,
    causal: settings.objective === "autoregressive",
  });
}

/** Prints the data, the model, the training plan and (except for SFT) the unigram baseline. */
function describeRun(r: {
  prepared: PreparedCorpus;
  model: LLaDAModel;
  settings: TrainSettings;
  record: CliRecord;
  evalSet: EvalSet;
  runDir: string;
  description: string;
}): void {
  const { prepared, model, settings, evalSet } = r;
  console.log(`llada train: ${prepared.description}`);
  const c = model.config;
  console.log(
    `model: ${settings.objective === "autoregressive" ? "autoregressive twin" : "mask predictor"}, ` +
      `d_model ${c.d_model}, ${c.n_layers} layers, ${c.n_heads} heads, mlp ${c.mlp_hidden_size}, ` +
      `${formatCount(model.parameterCount)} parameters; ${r.description}`,
  );
  console.log(
    `training: ${settings.steps} steps × ${settings.batchSize} rows × ${r.record.corpus.seqLength} tokens, ` +
      `lr ${settings.lr} (warmup ${settings.warmupSteps}, decay ${settings.decaySteps}), seed ${settings.seed}; ` +
      `run directory ${r.runDir}`,
  );
  if (settings.objective !== "sft") {
    const u = unigramBaseline(prepared.trainTexts.join(""), evalSet.text);
    // A BPE model's first plateau is the token unigram, well below the character one: print both.
    const tokens = prepared.tokenizer.type === "bpe"
      ? `, token unigram baseline ${
        tokenUnigramBaseline((prepared.train as TokenRows).tokens, prepared.tokenizer.vocabSize, evalSet)
          .toFixed(4)
      } bits/char`
      : "";
    console.log(
      `held-out: ${evalSet.sequences.length} sequences, ${evalSet.charCount} characters; unigram baseline ` +
        `${u.validCrossEntropy.toFixed(4)} bits/char${tokens}`,
    );
  }
}

/**
 * Trains on a prepared corpus with Ctrl-C handling and a progress display, saving the tokenizer and the record of
 * how the data was made with every checkpoint, so `--resume` can rebuild both (`llada train` and the demo).
 */
export function trainOnCorpus(r: {
  model: LLaDAModel;
  prepared: PreparedCorpus;
  tokenizer: Tokenizer;
  settings: TrainSettings;
  runDir: string;
  evalSet: EvalSet;
  resume: boolean;
  record: CliRecord;
  timeBudget?: TimeBudget;
}): Promise<TrainResult> {
  return trainInterruptibly({
    model: r.model,
    data: r.prepared.train,
    settings: r.settings,
    runDir: r.runDir,
    evalSet: r.evalSet,
    resume: r.resume,
    tokenizerJSON: JSON.stringify(r.tokenizer.toJSON()),
    extraState: { cli: r.record },
    progress: createProgress({ logEvery: r.settings.logEvery }),
    timeBudget: r.timeBudget,
  });
}
