/**
 * `deno task demo`: the whole of LLaDA in a few minutes on a laptop CPU.
 *
 * 1. **Data.** The Brown corpus (500 documents of 1961 American English), 10 % of the documents held out,
 *    a character tokenizer, training documents packed into rows of 32 characters with EOS between documents.
 *    The baseline: a unigram model of characters (frequencies counted on the training text), scored as
 *    cross-entropy on the held-out characters.
 * 2. **Pre-training** a small mask predictor on the LLaDA bound, in its low-variance form (Eq. 6): each row
 *    loses exactly l characters to the mask, l uniform on 1 … 32, and the cross-entropy on them is weighted by
 *    L/l (the same expected loss as Eq. 3's independent masks weighted by 1/t, with less noise); AdamW with a
 *    warmup-stable-decay schedule. Training gets what is left of the demo's 545 s: a few timed steps make the
 *    first plan, and the trainer re-plans the number of steps from its measured speed until the decay begins
 *    (so a busy machine shortens the run instead of overrunning), and stops training 15 s past its budget
 *    whatever the plan. A progress bar shows the loss, tokens/s and ETA; `runs/demo/` receives
 *    `metrics.jsonl` and the checkpoint.
 * 3. **Evaluation.** The upper bound on the held-out negative log-likelihood (Eq. 4) in bits/char, with
 *    fixed-seed stratified masks (Eq. 6), against the unigram baseline. Target: at most 0.75 × the baseline.
 * 4. **Generation** as a denoising trace: a prompt followed by masked positions (▒), revealed a few at a time
 *    by the reverse process.
 *
 * Options: `--steps N` (a fixed number of steps instead of the time budget), `--seconds S` (the training budget),
 * `--run-dir DIR`, `--resume` (continue an interrupted demo), `--backend cpu|webgpu|auto`. Ctrl-C during
 * training saves a checkpoint; `deno task demo --resume` continues it. How the recipe was chosen, with the
 * measurements, is in `docs/getting_started.md` ("How the demo was tuned").
 *
 * @module
 */

import { type CommandSpec, parseCommand, type ParsedArgs, UsageError } from "./cli/args.ts";
import { BACKEND_OPTION, chooseBackend, tokenizerConfig } from "./cli/common.ts";
import { traceLine, useColor } from "./cli/sample.ts";
import { type CliRecord, trainOnCorpus } from "./cli/train.ts";
import type { Backend } from "./backend/backend.ts";
import type { TokenRows } from "./data/packing.ts";
import { type CorpusSettings, formatCount, prepareCorpus, type PreparedCorpus } from "./train/corpus.ts";
import { type EvalSet, heldOutBitsPerChar, makeEvalSet, unigramBaseline } from "./train/eval.ts";
import { checkpointDir, readRunState } from "./train/trainer.ts";
import { type TrainSettings, trainSettings } from "./train/settings.ts";
import type { TimeBudget } from "./train/time_budget.ts";
import { timeTrainSteps } from "./train/step_timer.ts";
import { formatDuration } from "./train/progress.ts";
import { createModel, type LLaDAModel } from "./model/llada.ts";
import type { LLaDAConfig } from "./model/config.ts";
import { generate } from "./llada/reverse_sampling.ts";
import type { Tokenizer } from "./tokenizer/tokenizer.ts";

/**
 * The demo's recipe. Each choice below was measured on the project's 2-core machine; the figures are in
 * `docs/getting_started.md` ("How the demo was tuned").
 */
export const DEMO = {
  /**
   * Characters per training row and per held-out sequence. Short rows learn fastest in a few minutes: attention
   * spread over fewer positions finds the neighbouring characters sooner.
   */
  seqLength: 32,
  /**
   * The network: ≈ 0.12 M parameters; eight heads of 8 dimensions (faster on WebGPU than two of 32, and better).
   * Weights start ~ N(0, 0.06²) rather than LLaDA's 0.02, which suits its 4096-wide layers; at d_model 64 the
   * larger start learns faster.
   */
  model: { d_model: 64, n_layers: 2, n_heads: 8, mlp_hidden_size: 192, rope_theta: 10000, init_std: 0.06 },
  /**
   * The whole demo's time budget, in seconds: training gets what the data and the evaluation leave of it. The
   * demo must finish within 10 minutes, with room for a first run's downloads and for `overrunSeconds`.
   */
  totalSeconds: 545,
  /**
   * How far training may run past its budget before it is stopped mid-decay (the time budget's hard limit). The
   * plan is fixed once the decay begins, so a machine that slows down then would otherwise finish late.
   */
  overrunSeconds: 15,
  /** Seconds kept for what follows training (generation, the summary) out of the total. */
  afterTrainingSeconds: 10,
  /** The fewest steps of a first plan, however slow the machine (the trainer may still cut it). */
  minSteps: 100,
  batchSize: 64,
  /** Peak learning rate: the highest that still learns at this size (a higher one stalls at the unigram level). */
  lr: 6e-3,
  /**
   * Exactly l ~ U{1 … L} masked characters per row (Eq. 6) rather than each one with probability t (Eq. 3), and
   * the rows' times stratified over the batch: both unbiased, both lower the variance of the loss.
   */
  maskCount: "exact",
  timeSampling: "stratified",
  /** The final linear decay of the warmup-stable-decay schedule, as a fraction of the steps. */
  decayFraction: 0.2,
  /** The learning rate at the end of the decay, as a fraction of the peak. */
  finalLrFraction: 0.1,
  seed: 0,
  /** Held-out sequences (of `seqLength` characters) and mask samples per sequence. */
  evalSeqs: 96,
  evalSamples: 16,
  /** Held-out evaluations during training (the last one at the final step). */
  evaluations: 4,
  /** The bound must be at most this fraction of the unigram cross-entropy. */
  targetRatio: 0.75,
  /** The generation shown as a trace: prompt + generated characters fit in `seqLength`. */
  prompt: "The jury ",
  genLength: 22,
  sampleSteps: 11,
  /**
   * The exact reverse process (Algorithm 4: a random subset of the predictions is kept at each step), sampled at
   * temperature 0.8. Low-confidence remasking, the paper's default for large models, makes a model this small
   * repeat its most confident characters ("the the the").
   */
  remasking: "random",
  temperature: 0.8,
} as const;

/** The demo's command-line options. */
export const DEMO_SPEC: CommandSpec = {
  name: "demo",
  summary: "train a small LLaDA on the Brown corpus, evaluate it, and show generation step by step",
  options: {
    steps: { type: "int", min: 1, help: "training steps (default: as many as fit in --seconds)" },
    seconds: {
      type: "int",
      min: 10,
      help: `training time budget (default: what is left of ${DEMO.totalSeconds} s for the whole demo)`,
    },
    "run-dir": { type: "string", default: "runs/demo", placeholder: "DIR", help: "where the run is kept" },
    resume: { type: "boolean", help: "continue an interrupted demo run" },
    backend: BACKEND_OPTION,
  },
};

/** How the demo's data is made (saved with the run, so `--resume` and `llada eval` rebuild the same split). */
const CORPUS: CorpusSettings = {
  corpus: "brown",
  objective: "pretrain",
  seqLength: DEMO.seqLength,
  splitSeed: DEMO.seed,
};

/**
 * Seconds per training step of a model of `config` on `backend` with batches of `data`'s rows: 2 warm-up
 * steps (which also compile the WebGPU pipelines the real run reuses), then the mean of 4 timed steps. The
 * model is a throwaway copy; the run's own weights and random streams are untouched.
 */
export async function measureStepSeconds(
  config: Partial<LLaDAConfig>,
  backend: Backend,
  data: TokenRows,
  batchSize: number,
): Promise<number> {
  const { length } = data;
  const { secondsPerStep } = await timeTrainSteps({
    config,
    backend,
    seed: 1,
    rngSeed: 1,
    warmup: 2,
    steps: 4,
    timeSampling: DEMO.timeSampling,
    maskCount: DEMO.maskCount,
    batch: (rng) => {
      const tokens = new Int32Array(batchSize * length);
      for (let b = 0; b < batchSize; b++) {
        const r = rng.int(0, data.rows - 1);
        tokens.set(data.tokens.subarray(r * length, (r + 1) * length), b * length);
      }
      return { tokens, batch: batchSize, length };
    },
  });
  return secondsPerStep;
}

/** Runs the demo; returns the exit code. */
export async function demo(argv: string[]): Promise<number> {
  const args = parseCommand(DEMO_SPEC, argv, "deno task");
  if (!args) return 0;
  const began = performance.now();
  const runDir = args.string("run-dir")!;
  const resume = args.bool("resume");
  const saved = resume ? await readRunState(runDir) : null;
  if (resume && !saved) {
    throw new UsageError(`there is no demo run to resume in ${runDir}; run deno task demo without --resume`);
  }
  const { backend, description } = await chooseBackend(args.string("backend"));
  console.log(
    "llada-ts demo: a masked diffusion language model (LLaDA) trained from scratch on the Brown corpus",
  );
  console.log(description);

  rule("1/4  data");
  const data = await prepareData();

  rule("2/4  pre-training (the LLaDA bound, in its low-variance form: Eq. 6)");
  const { tokenizer } = data.prepared;
  const config = { ...DEMO.model, ...tokenizerConfig(tokenizer), max_sequence_length: DEMO.seqLength };
  const model = await createModel(config, { seed: DEMO.seed, backend });
  console.log(
    `mask predictor: d_model ${DEMO.model.d_model}, ${DEMO.model.n_layers} layers, ${DEMO.model.n_heads} heads, ` +
      `MLP ${DEMO.model.mlp_hidden_size}, ${formatCount(model.parameterCount)} parameters`,
  );
  const plan = saved
    ? { settings: saved.settings } // a resumed demo finishes the plan it had
    : await planTraining(args, config, backend, data.prepared, began);
  console.log(
    `${plan.settings.steps} steps × ${DEMO.batchSize} rows × ${DEMO.seqLength} characters, AdamW peak lr ` +
      `${plan.settings.lr} (warmup ${plan.settings.warmupSteps}, decay ${plan.settings.decaySteps}); ` +
      `run directory ${runDir}`,
  );
  if (!resume) {
    // A fresh demo replaces the previous demo's run (its own directory, nothing else).
    await Deno.remove(checkpointDir(runDir), { recursive: true }).catch(() => {});
  }
  const record: CliRecord = { corpus: CORPUS, evalSeqs: DEMO.evalSeqs };
  const result = await trainOnCorpus({ ...data, model, tokenizer, runDir, resume, record, ...plan });
  if (result.status !== "completed") {
    console.error(result.status === "diverged" ? `error: ${result.message}` : result.message);
    if (result.status === "interrupted") console.error("continue with: deno task demo --resume");
    return result.status === "interrupted" ? 130 : 1;
  }
  console.log(result.message);

  rule("3/4  held-out evaluation (upper bound on the NLL, Eq. 4)");
  const bound = result.evalBpc ??
    await heldOutBitsPerChar(model, data.evalSet, { mcSamples: DEMO.evalSamples });
  const ratio = reportBound(bound, data.evalSet, data.unigram);

  rule("4/4  generation by iterative unmasking (Algorithm 4, random remasking; ▒ = still masked)");
  await showGeneration(model, tokenizer);

  const seconds = (performance.now() - began) / 1000;
  const met = ratio <= DEMO.targetRatio;
  console.log(
    `\ndone in ${formatDuration(seconds)}: held-out bound ${bound.toFixed(4)} bits/char, unigram ` +
      `${data.unigram.toFixed(4)}, ratio ${ratio.toFixed(3)} (target ${met ? "met" : "not met"}); ` +
      `the run is in ${runDir}/ (metrics.jsonl, checkpoint/)`,
  );
  console.log(`next: deno task llada sample --model ${runDir} --prompt "The jury" --show-steps`);
  return 0;
}

/** Prints a section heading. */
function rule(title: string): void {
  console.log(`\n── ${title} ${"─".repeat(Math.max(0, 100 - title.length))}`);
}

/** Section 1: the corpus, the held-out sequences and the unigram baseline (its cross-entropy, bits/char). */
async function prepareData(): Promise<{ prepared: PreparedCorpus; evalSet: EvalSet; unigram: number }> {
  const prepared = await prepareCorpus(CORPUS);
  const evalSet = makeEvalSet(prepared.validTexts, prepared.tokenizer, {
    length: DEMO.seqLength,
    count: DEMO.evalSeqs,
  });
  const trainText = prepared.trainTexts.join("");
  const unigram = unigramBaseline(trainText, evalSet.text);
  const wholeValid = unigramBaseline(trainText, prepared.validTexts.join(""));
  console.log(prepared.description);
  console.log(
    `unigram model of characters: entropy ${
      unigram.trainEntropy.toFixed(4)
    } bits/char on the training text, ` +
      `cross-entropy ${
        unigram.validCrossEntropy.toFixed(4)
      } bits/char on the ${evalSet.charCount} held-out ` +
      `characters evaluated (${wholeValid.validCrossEntropy.toFixed(4)} on the whole held-out split)`,
  );
  const target = DEMO.targetRatio * unigram.validCrossEntropy;
  console.log(
    `target: held-out bound ≤ ${DEMO.targetRatio} × ${unigram.validCrossEntropy.toFixed(4)} = ` +
      `${target.toFixed(4)} bits/char`,
  );
  return { prepared, evalSet, unigram: unigram.validCrossEntropy };
}

/**
 * The training settings of a fresh demo: `--steps`, or as many steps as this machine's measured speed fits in
 * the time left (`--seconds`, or what the demo's total leaves), with a time budget that re-plans them.
 */
async function planTraining(
  args: ParsedArgs,
  config: Partial<LLaDAConfig>,
  backend: Backend,
  prepared: PreparedCorpus,
  began: number,
): Promise<{ settings: TrainSettings; timeBudget?: TimeBudget }> {
  let steps = args.number("steps");
  let timeBudget: TimeBudget | undefined;
  if (steps === undefined) {
    const perStep = await measureStepSeconds(config, backend, prepared.train, DEMO.batchSize);
    const sofar = (performance.now() - began) / 1000;
    const budget = args.number("seconds") ??
      Math.max(10, Math.floor(DEMO.totalSeconds - DEMO.afterTrainingSeconds - sofar));
    steps = Math.max(DEMO.minSteps, Math.floor(budget / perStep));
    timeBudget = {
      seconds: budget,
      decayFraction: DEMO.decayFraction,
      limitSeconds: budget + DEMO.overrunSeconds,
    };
    console.log(
      `this machine: ${(perStep * 1000).toFixed(0)} ms per step ` +
        `(${
          Math.round((DEMO.batchSize * DEMO.seqLength) / perStep)
        } tokens/s), so about ${steps} steps fit ` +
        `in the ${budget} s left for training (re-planned from the measured speed until the decay begins; ` +
        `stopped ${DEMO.overrunSeconds} s past it whatever the plan)`,
    );
  }
  const settings = trainSettings({
    steps,
    batchSize: DEMO.batchSize,
    lr: DEMO.lr,
    decaySteps: Math.round(steps * DEMO.decayFraction),
    finalLr: DEMO.lr * DEMO.finalLrFraction,
    seed: DEMO.seed,
    randomLength: false, // every row and held-out sequence is 32 characters: no shortened batches
    timeSampling: DEMO.timeSampling,
    maskCount: DEMO.maskCount,
    evalEvery: Math.max(1, Math.floor(steps / DEMO.evaluations)),
    checkpointEvery: Math.max(1, Math.floor(steps / DEMO.evaluations)),
    evalSamples: DEMO.evalSamples,
  });
  return { settings, timeBudget };
}

/** Section 3: the held-out bound against the unigram baseline; returns their ratio. */
function reportBound(bound: number, evalSet: EvalSet, unigram: number): number {
  const ratio = bound / unigram;
  console.log(
    `held-out bound:    ${bound.toFixed(4)} bits/char  (${evalSet.sequences.length} sequences of ` +
      `${DEMO.seqLength} characters, ${DEMO.evalSamples} fixed-seed mask samples each)`,
  );
  console.log(`unigram baseline:  ${unigram.toFixed(4)} bits/char`);
  console.log(
    `ratio:             ${ratio.toFixed(3)}  (target ≤ ${DEMO.targetRatio}: ${
      ratio <= DEMO.targetRatio ? "met" : "NOT met"
    })`,
  );
  return ratio;
}

/** Section 4: the prompt's continuation as a denoising trace, one line per step, then the text. */
async function showGeneration(model: LLaDAModel, tokenizer: Tokenizer): Promise<void> {
  const prompt = tokenizer.encode(DEMO.prompt);
  const total = String(DEMO.sampleSteps);
  const color = useColor();
  const canvas = [...prompt, ...new Array(DEMO.genLength).fill(tokenizer.maskId)];
  const start = {
    block: 0,
    step: -1,
    nfe: 0,
    tokens: [canvas],
    committed: [[]],
    confidence: [[]],
    predicted: [[]],
  };
  console.log(traceLine(tokenizer, start, total));
  const { tokens } = await generate(model, [prompt], {
    genLength: DEMO.genLength,
    steps: DEMO.sampleSteps,
    remasking: DEMO.remasking,
    temperature: DEMO.temperature,
    maskId: tokenizer.maskId,
    eosId: tokenizer.eosId,
    padId: tokenizer.padId,
    seed: DEMO.seed,
    onStep: (state) => console.log(traceLine(tokenizer, state, total, { color })),
  });
  console.log(`\n${tokenizer.decode(tokens[0], { skipSpecial: true })}`);
}

if (import.meta.main) {
  try {
    Deno.exit(await demo(Deno.args));
  } catch (e) {
    console.error(`error: ${e instanceof Error ? e.message : e}`);
    Deno.exit(e instanceof UsageError ? 2 : 1);
  }
}
