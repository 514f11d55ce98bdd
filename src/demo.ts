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
 * training saves a checkpoint; `deno task demo --resume` continues it.
 *
 * @module
 */

import { type CommandSpec, formatHelp, parseArgs, UsageError } from "./cli/args.ts";
import { BACKEND_CHOICES, chooseBackend } from "./cli/common.ts";
import { traceLine, useColor } from "./cli/sample.ts";
import type { Backend } from "./backend/backend.ts";
import type { TokenRows } from "./data/packing.ts";
import { formatCount, prepareCorpus } from "./train/corpus.ts";
import { heldOutBitsPerChar, makeEvalSet, unigramBaseline } from "./train/eval.ts";
import {
  checkpointDir,
  readRunState,
  type TimeBudget,
  trainInterruptibly,
  type TrainSettings,
  trainSettings,
} from "./train/trainer.ts";
import { trainStep } from "./train/step.ts";
import { createProgress, formatDuration } from "./train/progress.ts";
import { createModel } from "./model/llada.ts";
import { AdamW } from "./optim/adamw.ts";
import { Rng } from "./rng.ts";
import { generate } from "./llada/reverse_sampling.ts";
import { type LLaDAConfig, paddedEmbeddingSize } from "./model/config.ts";

/** The demo's recipe, measured on the project's 2-core machine (docs/getting_started.md gives the figures). */
export const DEMO = {
  /**
   * Characters per training row and per held-out sequence. Short rows learn fastest in a few minutes: attention
   * spread over fewer positions finds the neighbouring characters sooner (measured: 32 beats 16, 64 and 128).
   */
  seqLength: 32,
  /**
   * The network: ≈ 0.12 M parameters; eight heads of 8 dimensions (faster on WebGPU than two of 32, and better).
   * Weights start ~ N(0, 0.06²) rather than LLaDA's 0.02, which suits its 4096-wide layers; at d_model 64 the
   * larger start learns faster (held-out bound after 1,200 steps: 3.414 bits/char at 0.02, 3.363 at 0.06, 3.366
   * at 0.08, 3.407 at 0.1).
   */
  model: { d_model: 64, n_layers: 2, n_heads: 8, mlp_hidden_size: 192, rope_theta: 10000, init_std: 0.06 },
  /**
   * The whole demo's time budget, in seconds: training gets what the data and the evaluation leave of it. Under
   * the 10 minutes with room for a first run's downloads (≈ 10 s) and for `overrunSeconds`.
   */
  totalSeconds: 545,
  /**
   * How far training may run past its budget before it is stopped mid-decay (the time budget's hard limit). The
   * plan is fixed once the decay begins, and a machine that slows down then finishes late: a measured run given
   * 540 s ran its last 20 % of steps, planned from the mean speed, 25 s late.
   */
  overrunSeconds: 15,
  /** Seconds kept for what follows training (generation, the summary) out of the total. */
  afterTrainingSeconds: 10,
  /** The fewest steps of a first plan, however slow the machine (the trainer may still cut it). */
  minSteps: 100,
  batchSize: 64,
  /** Peak learning rate (measured at 1,200 steps: 6e-3 beats 3e-3; 1e-2 stalls at the unigram level). */
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
    backend: {
      type: "string",
      choices: BACKEND_CHOICES,
      help: "compute backend (default $LLADA_BACKEND or auto)",
    },
  },
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
  const model = await createModel(config, { seed: 1, backend });
  const optimizer = new AdamW(model.namedParameters());
  const rng = new Rng(1);
  const { length } = data;
  const step = async () => {
    const rows = Array.from({ length: batchSize }, () => rng.int(0, data.rows - 1));
    const tokens = new Int32Array(batchSize * length);
    rows.forEach((r, b) => tokens.set(data.tokens.subarray(r * length, (r + 1) * length), b * length));
    const r = trainStep(model, optimizer, { tokens, batch: batchSize, length }, {
      objective: "pretrain",
      lr: 1e-3,
      clip: 1,
      rng,
      randomLength: false,
      timeSampling: DEMO.timeSampling,
      maskCount: DEMO.maskCount,
    });
    await r.loss.item();
    r.loss.dispose();
    r.gradNorm?.dispose();
  };
  for (let i = 0; i < 2; i++) await step();
  const t0 = performance.now();
  for (let i = 0; i < 4; i++) await step();
  const seconds = (performance.now() - t0) / 4000;
  optimizer.dispose();
  model.dispose();
  return seconds;
}

/** Runs the demo; returns the exit code. */
export async function demo(argv: string[]): Promise<number> {
  const args = parseArgs(DEMO_SPEC, argv);
  if (args.help) {
    console.log(formatHelp(DEMO_SPEC, "deno task"));
    return 0;
  }
  const began = performance.now();
  const runDir = args.string("run-dir")!;
  const resume = args.bool("resume");
  const saved = resume ? await readRunState(runDir) : null;
  if (resume && !saved) {
    throw new UsageError(`there is no demo run to resume in ${runDir}; run deno task demo without --resume`);
  }
  const { backend, description } = await chooseBackend(args.string("backend"));
  const rule = (title: string) => console.log(`\n── ${title} ${"─".repeat(Math.max(0, 100 - title.length))}`);
  console.log(
    "llada-ts demo: a masked diffusion language model (LLaDA) trained from scratch on the Brown corpus",
  );
  console.log(description);

  // ── 1. Data and the unigram baseline. ──
  rule("1/4  data");
  const corpus = {
    corpus: "brown",
    objective: "pretrain",
    seqLength: DEMO.seqLength,
    splitSeed: DEMO.seed,
  } as const;
  const prepared = await prepareCorpus(corpus);
  const { tokenizer } = prepared;
  const evalSet = makeEvalSet(prepared.validTexts, tokenizer, {
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

  // ── 2. Pre-training. ──
  rule("2/4  pre-training (the LLaDA bound, in its low-variance form: Eq. 6)");
  const config = {
    ...DEMO.model,
    vocab_size: tokenizer.vocabSize,
    embedding_size: paddedEmbeddingSize(tokenizer.vocabSize),
    max_sequence_length: DEMO.seqLength,
    mask_token_id: tokenizer.maskId,
    eos_token_id: tokenizer.eosId,
    pad_token_id: tokenizer.padId,
  };
  const model = await createModel(config, { seed: DEMO.seed, backend });
  console.log(
    `mask predictor: d_model ${DEMO.model.d_model}, ${DEMO.model.n_layers} layers, ${DEMO.model.n_heads} heads, ` +
      `MLP ${DEMO.model.mlp_hidden_size}, ${formatCount(model.parameterCount)} parameters`,
  );
  let settings: TrainSettings;
  let timeBudget: TimeBudget | undefined;
  if (saved) {
    settings = saved.settings; // a resumed demo finishes the plan it had
  } else {
    let steps: number;
    if (args.has("steps")) {
      steps = args.number("steps")!;
    } else {
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
    settings = trainSettings({
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
  }
  console.log(
    `${settings.steps} steps × ${DEMO.batchSize} rows × ${DEMO.seqLength} characters, AdamW peak lr ` +
      `${settings.lr} (warmup ${settings.warmupSteps}, decay ${settings.decaySteps}); run directory ${runDir}`,
  );
  if (!resume) {
    // A fresh demo replaces the previous demo's run (its own directory, nothing else).
    await Deno.remove(checkpointDir(runDir), { recursive: true }).catch(() => {});
  }
  const result = await trainInterruptibly({
    model,
    data: prepared.train,
    settings,
    runDir,
    evalSet,
    resume,
    tokenizerJSON: JSON.stringify(tokenizer.toJSON()),
    extraState: { cli: { corpus, evalSeqs: DEMO.evalSeqs } },
    progress: createProgress({ logEvery: 10 }),
    timeBudget,
  });
  if (result.status !== "completed") {
    console.error(result.status === "diverged" ? `error: ${result.message}` : result.message);
    if (result.status === "interrupted") console.error("continue with: deno task demo --resume");
    return result.status === "interrupted" ? 130 : 1;
  }
  console.log(result.message);

  // ── 3. The held-out bound against the baseline. ──
  rule("3/4  held-out evaluation (upper bound on the NLL, Eq. 4)");
  const bound = result.evalBpc ?? await heldOutBitsPerChar(model, evalSet, { mcSamples: DEMO.evalSamples });
  const ratio = bound / unigram.validCrossEntropy;
  const met = ratio <= DEMO.targetRatio;
  console.log(
    `held-out bound:    ${bound.toFixed(4)} bits/char  (${evalSet.sequences.length} sequences of ` +
      `${DEMO.seqLength} characters, ${DEMO.evalSamples} fixed-seed mask samples each)`,
  );
  console.log(`unigram baseline:  ${unigram.validCrossEntropy.toFixed(4)} bits/char`);
  console.log(
    `ratio:             ${ratio.toFixed(3)}  (target ≤ ${DEMO.targetRatio}: ${met ? "met" : "NOT met"})`,
  );

  // ── 4. Generation, step by step. ──
  rule("4/4  generation by iterative unmasking (Algorithm 4, random remasking; ▒ = still masked)");
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

  const seconds = (performance.now() - began) / 1000;
  console.log(
    `\ndone in ${formatDuration(seconds)}: held-out bound ${bound.toFixed(4)} bits/char, unigram ` +
      `${unigram.validCrossEntropy.toFixed(4)}, ratio ${ratio.toFixed(3)} (target ${
        met ? "met" : "not met"
      }); ` +
      `the run is in ${runDir}/ (metrics.jsonl, checkpoint/)`,
  );
  console.log(`next: deno task llada sample --model ${runDir} --prompt "The jury" --show-steps`);
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await demo(Deno.args));
  } catch (e) {
    console.error(`error: ${e instanceof Error ? e.message : e}`);
    Deno.exit(e instanceof UsageError ? 2 : 1);
  }
}
