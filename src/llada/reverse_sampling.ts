/**
 * # The reverse process: generating text by iterative unmasking
 *
 * LLaDA generates by running its forward process (`forward_masking.ts`) backwards. Start at `t = 1` with the
 * answer fully masked, `[prompt | M M … M]`, and walk down to `t = 0` in `N` steps. Going from time `t` to an
 * earlier time `s < t`, each masked token is revealed with probability `(t − s)/t` and stays masked with
 * probability `s/t` (the reverse of the linear schedule of Eq. 8); a revealed token is drawn from the mask
 * predictor, `x_0^i ~ p_θ(x_0^i | p_0, r_t)`, and is never masked again.
 *
 * The paper (Algorithms 4 and 5) implements a step as: *predict every masked token at once, then remask some of
 * the predictions* so that the expected number of masks follows the schedule. With `N` equal steps the expected
 * number revealed per step is constant, so the official code reveals a fixed count: with `m` masks and `N` steps,
 * `⌊m/N⌋` per step and one more on the first `m mod N` steps ({@link numTransferTokens}). Which predictions to keep
 * is the *remasking strategy*:
 *
 * - `random` (Algorithm 4, the exact reverse process): keep a uniformly random subset;
 * - `low_confidence` (Algorithm 5): keep the predictions the model is most sure of, `p_θ(x̂^i | ·)` highest, and
 *   remask the rest. Not the exact reverse process, but much better text in practice;
 * - `margin` and `entropy` (beyond the paper, common in later work): rank by the gap between the two most likely
 *   tokens, or by minus the entropy of the position's distribution.
 *
 * **Semi-autoregressive blocks.** The answer is cut into blocks of `blockLength` tokens decoded left to right;
 * inside a block the process above runs with `steps / blocks` steps, and positions right of the current block are
 * never revealed (their confidence is `−∞`). One block (`blockLength = genLength`) is pure diffusion.
 *
 * **The step, precisely** (the official `generate.py`, made explicit):
 * 1. Logits for the whole canvas from one network evaluation (with classifier-free guidance, `u + (w+1)(c − u)`
 *    with `u` from the canvas whose prompt is masked; both halves in one batched call, still one NFE).
 * 2. Optionally forbid EOS: `logitsEosInf` sets the EOS logit to `−∞` before anything else.
 * 3. Predict `x̂` at every masked position of the current block: `argmax` at temperature 0, otherwise Gumbel-max
 *    sampling `argmax(l/temperature + g)` with `g ~ Gumbel(0, 1)`, in float64 (low-precision Gumbel noise hurts quality).
 * 4. Score each prediction by the remasking strategy's confidence, computed from the un-noised logits.
 *    `confidenceEosInf` gives positions whose `x̂` is EOS a confidence of `−∞` (the official flag means to do this
 *    but, by a bug, does nothing).
 * 5. Commit the `k` most confident predictions (ties go to the **lower position**), or, with a `threshold` τ,
 *    every prediction with confidence ≥ τ and at least the single most confident one (confidence-threshold
 *    parallel decoding, as in Fast-dLLM: a block then takes as many steps as it needs, at most its length).
 *
 * Decisions this file makes where the official code is silent or fragile — each one tested:
 * - **Candidates are only the masked positions of the current block.** The official code ranks the whole row
 *   with `−∞` outside the block and calls `topk`; once the finite entries run out (possible with
 *   `confidenceEosInf`), `topk` picks among `−∞` entries arbitrarily and may "commit" an already committed
 *   position, so the block ends with masks left. Here `−∞` candidates are simply ranked last (lowest position
 *   first), so every step commits exactly its scheduled count and EOS is written only when nothing else remains.
 * - **The mask token is never predicted**: `x̂` is chosen among the other tokens (confidences still use the full
 *   softmax). A trained LLaDA gives `M` no mass, as `M` is never a training target; excluding it guarantees that
 *   no mask is left at the end.
 * - **Ties** in `argmax` go to the lowest token id; ties in confidence go to the lowest position.
 * - **Batches.** Prompts of different lengths are left-padded with `padId` (which must differ from the mask id)
 *   and the model receives an attention mask with 0 on padding; with CFG only real prompt tokens are masked in
 *   the unconditional half. Every row draws its randomness (Gumbel noise, random confidences) from its own
 *   stream, `new Rng(seed).fork(hash(prompt))`, and only when it has something to decode, so a row's result is
 *   what its prompt alone would give, whatever its batch-mates. A consequence: equal prompts in one call give
 *   equal outputs — to draw several samples of one prompt, call again with different seeds.
 *
 * @module
 */

import type { LogitsModel } from "./logits_model.ts";
import { Rng } from "../rng.ts";
import { traceLevel, traceNote } from "../trace.ts";
import { guidedLogits } from "./guidance.ts";
import { softmaxNormaliser } from "./softmax.ts";
import { decodesOnDevice, decodeStepsOnDevice, type DeviceLogitsModel } from "./device_sampling.ts";

/** The remasking strategies: how the predictions to keep are ranked at each step (see the module documentation). */
export const REMASKINGS = ["low_confidence", "random", "margin", "entropy"] as const;

/** How the predictions to keep are ranked at each step. */
export type Remasking = typeof REMASKINGS[number];

/** The state of the canvas after one step, for visualisation (see {@link GenerateOptions.onStep}). */
export interface StepState {
  /** The block being decoded, from 0. */
  block: number;
  /** The step inside that block, from 0. */
  step: number;
  /** Network evaluations so far, this step's included. */
  nfe: number;
  /** Each row's `prompt ‖ answer` after this step (no padding), with the mask id where still masked. */
  tokens: number[][];
  /** Per row, the positions (indices into `tokens[i]`) committed at this step, most confident first. */
  committed: number[][];
  /** Per row and position of `tokens[i]`: the confidence this step used; `−Infinity` where not a candidate. */
  confidence: number[][];
  /** Per row and position of `tokens[i]`: the prediction `x̂` this step made; −1 where not a candidate. */
  predicted: number[][];
}

/** Options of {@link generate}. */
export interface GenerateOptions {
  /** Number of tokens to generate after each prompt. */
  genLength: number;
  /**
   * Total sampling steps over all blocks; must be a multiple of the number of blocks. Required unless
   * `threshold` is set, in which case it is ignored (blocks take as many steps as they need).
   */
  steps?: number;
  /** Block length for semi-autoregressive decoding (default `genLength`: one block); must divide `genLength`. */
  blockLength?: number;
  /** Sampling temperature (default 0: greedy argmax). Above 0, Gumbel-max sampling in float64. */
  temperature?: number;
  /** Classifier-free guidance scale `w ≥ 0` (default 0: none). */
  cfgScale?: number;
  /** Remasking strategy (default `"low_confidence"`). */
  remasking?: Remasking;
  /** Confidence threshold τ for parallel decoding: commit every candidate with confidence ≥ τ (at least one). */
  threshold?: number;
  /**
   * The id of the mask token `M`. Default: the model's `config.mask_token_id` when the model carries a LLaDA
   * config (a loaded or created `LLaDAModel` does); required otherwise.
   */
  maskId?: number;
  /**
   * The left-padding token for prompts of different lengths (required then; must differ from `maskId`).
   * Default: the model's `config.pad_token_id`, when it has one.
   */
  padId?: number;
  /**
   * The EOS token id (required by `logitsEosInf` and `confidenceEosInf`). Default: the model's
   * `config.eos_token_id`, when it has one.
   */
  eosId?: number;
  /** Forbid EOS: its logit is set to `−∞` before sampling and confidences. */
  logitsEosInf?: boolean;
  /** Sample EOS normally but give positions predicted as EOS a confidence of `−∞` (committed last). */
  confidenceEosInf?: boolean;
  /** Seed of the randomness (default 0). The same seed gives the same output. */
  seed?: number;
  /** Called after every step with the canvas, the committed positions and the confidences (may be async). */
  onStep?: (state: StepState) => void | Promise<void>;
  /**
   * Stops generation: checked before every network evaluation (before every run of steps decoded on the
   * device), so the step under way finishes and {@link generate} rejects with the signal's reason.
   */
  signal?: AbortSignal;
}

/** What {@link generate} returns. */
export interface GenerateResult {
  /** `tokens[i]` is `prompts[i]` followed by its `genLength` generated tokens (no padding). */
  tokens: number[][];
  /** Network evaluations performed (a guided step is one batched evaluation of `2B` rows). */
  nfe: number;
}

/**
 * How many tokens each of `steps` steps reveals when `maskCount` masks must be gone after the last one (the
 * official `get_num_transfer_tokens`): the linear schedule reveals the same expected number per step, so each
 * step reveals `⌊m/steps⌋`, and the first `m mod steps` steps one more.
 *
 * @param maskCount masks at the start of the block, `m ≥ 0`.
 * @param steps steps for the block, ≥ 1.
 * @returns `[steps]` counts summing to `maskCount`.
 */
export function numTransferTokens(maskCount: number, steps: number): Int32Array {
  if (!Number.isInteger(maskCount) || maskCount < 0 || !Number.isInteger(steps) || steps < 1) {
    throw new Error(
      `numTransferTokens: expected integers maskCount ≥ 0 and steps ≥ 1, got ${maskCount}, ${steps}`,
    );
  }
  const base = Math.floor(maskCount / steps);
  const remainder = maskCount % steps;
  const counts = new Int32Array(steps).fill(base);
  for (let i = 0; i < remainder; i++) counts[i] += 1;
  return counts;
}

/**
 * Generates `genLength` tokens after each prompt with LLaDA's reverse process: semi-autoregressive blocks, the
 * fixed reveal schedule or threshold decoding, a remasking strategy, optional temperature, classifier-free
 * guidance and EOS control. See the module documentation for every rule.
 *
 * @param model the mask predictor.
 * @param prompts one token sequence per row (lengths may differ: rows are left-padded with `padId`).
 * @param options see {@link GenerateOptions}.
 * @returns every row's `prompt ‖ answer` and the number of network evaluations.
 *
 * @example
 * ```ts
 * const { tokens, nfe } = await generate(model, [prompt], {
 *   genLength: 64, steps: 64, blockLength: 16, maskId: tok.maskId, eosId: tok.eosId,
 * });
 * ```
 */
export async function generate(
  model: LogitsModel,
  prompts: readonly (readonly number[])[],
  options: GenerateOptions,
): Promise<GenerateResult> {
  const o = resolveOptions(model, prompts, options);
  const canvas = buildCanvas(prompts, o);
  // Each row's own random stream: a function of the seed and the row's prompt, never of its index.
  const rngs = prompts.map((prompt) => new Rng(o.seed).fork(hashTokens(prompt)));
  // Greedy low-confidence decoding on a device-backed network takes runs of steps on the device, reading back once
  // per run (device_sampling.ts); a run is certified to be this loop's, or its steps are taken here.
  let deviceRun = decodesOnDevice(model, o) ? 4 : 0; // steps in the next device run; 0: on the host from now on
  const onDevice = {
    tokens: canvas.tokens, // shared: a certified run writes the canvas itself
    batch: canvas.rows,
    length: canvas.width,
    maskId: o.maskId,
    attentionMask: canvas.attentionMask,
  };
  const { stepsPerBlock } = o; // undefined in threshold mode
  let nfe = 0;
  for (let block = 0; block < o.blocks; block++) {
    // The current block's answer positions [start, end); everything right of it stays masked for now.
    const start = canvas.promptWidth + block * o.blockLength;
    const end = start + o.blockLength;
    // Fixed schedule: m = masks in the block at its start (all of it), revealed ⌊m/N⌋ (+1) per step.
    const schedules = stepsPerBlock === undefined
      ? undefined
      : rngs.map((_, b) =>
        numTransferTokens(countMasks(rowOf(canvas, b), start, end, o.maskId), stepsPerBlock)
      );
    // Fixed schedule: stepsPerBlock steps. Threshold: until no row has a mask left in the block.
    const more = (step: number) =>
      stepsPerBlock === undefined ? blockHasMasks(canvas, start, end, o.maskId) : step < stepsPerBlock;

    for (let step = 0; more(step); step++) {
      o.signal?.throwIfAborted();
      if (deviceRun > 0) {
        // Every row has the same schedule here (every block starts fully masked), so row 0's counts serve all.
        const counts = schedules![0].subarray(step, step + deviceRun);
        if (traceLevel() > 0) {
          traceNote(
            `reverse steps ${step + 1}-${step + counts.length} of block ${
              block + 1
            }/${o.blocks} on the device`,
          );
        }
        if (await decodeStepsOnDevice(model as DeviceLogitsModel, onDevice, start, end, counts)) {
          nfe += counts.length;
          step += counts.length - 1;
          deviceRun = Math.min(2 * deviceRun, 32);
          continue;
        }
        deviceRun = 0; // uncertain: these steps and the rest of the generation on the host
      }
      if (traceLevel() > 0) traceNote(`reverse step ${step + 1} of block ${block + 1}/${o.blocks}`);
      // Step 1 — one network evaluation of the whole canvas (both CFG halves in one call).
      const { tokens, rows, width, isPrompt, attentionMask } = canvas;
      const logits = await guidedLogits(model, tokens, rows, width, isPrompt, {
        maskId: o.maskId,
        cfgScale: o.cfgScale,
        attentionMask,
      });
      nfe++;
      // Steps 2–5, row by row: predict, score and commit inside the block.
      const decided = rngs.map((rng, b) =>
        decodeRow(canvas, b, logits, [start, end], schedules?.[b][step], o, rng)
      );
      if (o.onStep) await o.onStep(stepState(canvas, block, step, nfe, decided));
    }
  }
  return { tokens: answers(canvas), nfe };
}

/** What {@link GenerateOptions.onStep} is shown after a step: every row without its padding. */
function stepState(canvas: Canvas, block: number, step: number, nfe: number, decided: RowStep[]): StepState {
  const unpad = <A extends Float64Array | Int32Array>(a: A, b: number) =>
    Array.from(a.subarray(canvas.pads[b]));
  return {
    block,
    step,
    nfe,
    tokens: answers(canvas),
    committed: decided.map((d) => d.committed),
    confidence: decided.map((d, b) => unpad(d.confidence, b)),
    predicted: decided.map((d, b) => unpad(d.predicted, b)),
  };
}

/**
 * The canvas every step reads and writes: per row `[pad … pad | prompt | M × genLength]`, `width` positions, the
 * prompts right-aligned at `promptWidth`.
 */
export interface Canvas {
  /** Row-major `[rows, width]` token ids; committed answer tokens are written here and never revisited. */
  tokens: Int32Array;
  rows: number;
  /** Positions per row: the longest prompt plus `genLength`. */
  width: number;
  /** Where the answer starts in every row (the longest prompt's length). */
  promptWidth: number;
  /** Left padding of each row. */
  pads: number[];
  /** 1 at real prompt positions: masked in classifier-free guidance's unconditional half. */
  isPrompt: Uint8Array;
  /** 0 on padding, which stays out of attention; omitted when nothing is padded. */
  attentionMask?: Uint8Array;
}

/** The starting canvas at `t = 1`: prompts left-padded with `padId`, the answer region fully masked. */
export function buildCanvas(
  prompts: readonly (readonly number[])[],
  o: Pick<ResolvedOptions, "genLength" | "maskId" | "padId">,
): Canvas {
  const rows = prompts.length;
  const promptWidth = Math.max(...prompts.map((p) => p.length));
  const width = promptWidth + o.genLength;
  const pads = prompts.map((p) => promptWidth - p.length);
  const tokens = new Int32Array(rows * width).fill(o.maskId);
  const isPrompt = new Uint8Array(rows * width);
  const attentionMask = pads.some((n) => n > 0) ? new Uint8Array(rows * width).fill(1) : undefined;
  prompts.forEach((prompt, b) => {
    const from = b * width;
    if (pads[b] > 0) {
      tokens.fill(o.padId!, from, from + pads[b]); // validation made sure padId is given when rows differ
      attentionMask!.fill(0, from, from + pads[b]);
    }
    tokens.set(prompt, from + pads[b]);
    isPrompt.fill(1, from + pads[b], from + promptWidth);
  });
  return { tokens, rows, width, promptWidth, pads, isPrompt, attentionMask };
}

/** Row `b` of the canvas, as a view: writing to it writes the canvas. */
function rowOf(canvas: Canvas, b: number): Int32Array {
  return canvas.tokens.subarray(b * canvas.width, (b + 1) * canvas.width);
}

/** Every row's `prompt ‖ answer`, without its padding. */
export function answers(canvas: Canvas): number[][] {
  return canvas.pads.map((pad, b) => Array.from(rowOf(canvas, b).subarray(pad)));
}

/** What one row's step decided; positions are the row's padded positions. */
interface RowStep {
  /** The committed positions (without the row's padding), most confident first. */
  committed: number[];
  /** The confidence of each candidate; `−∞` elsewhere. */
  confidence: Float64Array;
  /** The prediction `x̂` at each candidate; −1 elsewhere. */
  predicted: Int32Array;
}

/**
 * One step of the reverse process for row `b` (steps 2–5 of the module documentation): predict every still-masked
 * position of the block `[start, end)`, score the predictions, and write the chosen ones into the canvas — this
 * step's scheduled `count` of them, or with threshold decoding every one at least as confident as τ (at least
 * one). A row with nothing left in the block waits without drawing randomness.
 */
function decodeRow(
  canvas: Canvas,
  b: number,
  logits: Float32Array | Float64Array,
  [start, end]: [number, number],
  count: number | undefined,
  o: ResolvedOptions,
  rng: Rng,
): RowStep {
  const row = rowOf(canvas, b);
  const V = logits.length / (canvas.rows * canvas.width);
  const confidences = new Float64Array(canvas.width).fill(-Infinity);
  const predicted = new Int32Array(canvas.width).fill(-1);
  // The candidates: still-masked positions of the current block (committed tokens are never revisited).
  const candidates: number[] = [];
  for (let i = start; i < end; i++) if (row[i] === o.maskId) candidates.push(i);
  if (candidates.length === 0) return { committed: [], confidence: confidences, predicted };
  const scratch = new Float64Array(V); // one position's logits, after the EOS rule
  for (const i of candidates) {
    // Step 2 — the position's logits in float64, EOS forbidden if asked (`logits[:, :, eos] = −∞`).
    const offset = (b * canvas.width + i) * V;
    for (let v = 0; v < V; v++) scratch[v] = logits[offset + v];
    if (o.logitsEosInf) scratch[o.eosId!] = -Infinity;
    // Step 3 — the prediction x̂: argmax, or Gumbel-max sampling above temperature 0.
    const xHat = predictToken(scratch, o.temperature, o.maskId, rng);
    // Step 4 — its confidence under the remasking strategy (from the un-noised logits).
    let c = confidence(scratch, xHat, o.remasking, rng);
    if (o.confidenceEosInf && xHat === o.eosId) c = -Infinity;
    if (Number.isNaN(c)) {
      const position = i - canvas.pads[b];
      throw new Error(`generate: the model returned NaN logits (row ${b}, position ${position}); check it`);
    }
    predicted[i] = xHat;
    confidences[i] = c;
  }
  // Step 5 — rank (confidence high to low, ties to the lower position) and commit.
  const ranked = candidates.slice().sort((i, j) => {
    const ci = confidences[i];
    const cj = confidences[j];
    return ci > cj ? -1 : ci < cj ? 1 : i - j;
  });
  let chosen: number[];
  if (count !== undefined) {
    // Fixed schedule: exactly this step's count (−∞ candidates are taken last, never skipped).
    chosen = ranked.slice(0, count);
  } else {
    // Threshold τ: every candidate with confidence ≥ τ, or the single most confident if none is.
    chosen = ranked.filter((i) => confidences[i] >= o.threshold!);
    if (chosen.length === 0) chosen = [ranked[0]];
  }
  for (const i of chosen) row[i] = predicted[i]; // revealed tokens are final
  return { committed: chosen.map((i) => i - canvas.pads[b]), confidence: confidences, predicted };
}

/**
 * `x̂` for one position: at temperature 0 the argmax of the logits; above 0 the Gumbel-max sample
 * `argmax_v (l_v / temperature + g_v)` with `g_v ~ Gumbel(0, 1)`, which is an exact draw from
 * `softmax(l / temperature)` (the official `logits.exp() / (−log u)^temperature` has the same argmax). The mask token is excluded; ties go to the lowest id. At
 * temperature > 0 exactly `V` noise values are drawn, whatever the logits, so streams stay aligned.
 */
export function predictToken(logits: Float64Array, temperature: number, maskId: number, rng: Rng): number {
  let best = -1;
  let bestScore = -Infinity;
  for (let v = 0; v < logits.length; v++) {
    const score = temperature === 0 ? logits[v] : logits[v] / temperature + rng.gumbel();
    if (v === maskId) continue; // M is never a prediction (it is never a training target)
    if (best < 0 || score > bestScore) {
      best = v;
      bestScore = score;
    }
  }
  return best;
}

/**
 * The confidence of prediction `xHat` at one position, higher meaning "keep it":
 * - `low_confidence`: `softmax(l)[x̂]`;
 * - `margin`: top-1 minus top-2 probability of `softmax(l)`;
 * - `entropy`: `Σ_v p_v log p_v`, minus the entropy (0 for a certain prediction, lower when spread out);
 * - `random`: a uniform draw from `[0, 1)` (Algorithm 4's random remasking).
 */
export function confidence(logits: Float64Array, xHat: number, remasking: Remasking, rng: Rng): number {
  if (remasking === "random") return rng.uniform();
  // softmax in float64, stabilised by the maximum (entries of −∞ get probability 0).
  const { max, sum } = softmaxNormaliser(logits, 0, logits.length);
  const prob = (v: number) => Math.exp(logits[v] - max) / sum;
  if (remasking === "low_confidence") return prob(xHat);
  if (remasking === "margin") {
    let top1 = 0;
    let top2 = 0;
    for (let v = 0; v < logits.length; v++) {
      const p = prob(v);
      if (p > top1) [top1, top2] = [p, top1];
      else if (p > top2) top2 = p;
    }
    return top1 - top2;
  }
  // entropy: Σ p log p over tokens with p > 0 (0 · log 0 = 0).
  let negH = 0;
  for (let v = 0; v < logits.length; v++) {
    const p = prob(v);
    if (p > 0) negH += p * Math.log(p);
  }
  return negH;
}

/** Validated options with defaults filled in. */
export interface ResolvedOptions {
  genLength: number;
  blockLength: number;
  blocks: number;
  /** Steps per block for the fixed schedule; undefined in threshold mode. */
  stepsPerBlock?: number;
  threshold?: number;
  temperature: number;
  cfgScale: number;
  remasking: Remasking;
  maskId: number;
  padId?: number;
  eosId?: number;
  logitsEosInf: boolean;
  confidenceEosInf: boolean;
  seed: number;
  onStep?: (state: StepState) => void | Promise<void>;
  signal?: AbortSignal;
}

/** Checks every option and prompt, with errors that say what to change. */
export function resolveOptions(
  model: LogitsModel,
  prompts: readonly (readonly number[])[],
  options: GenerateOptions,
): ResolvedOptions {
  const V = model.vocabSize;
  if (!Number.isInteger(V) || V < 1) fail(`model.vocabSize must be a positive integer, got ${V}`);
  const schedule = resolveSchedule(options);
  const temperature = options.temperature ?? 0;
  if (!(temperature >= 0 && Number.isFinite(temperature))) {
    fail(`temperature must be a finite number ≥ 0, got ${temperature}`);
  }
  const cfgScale = options.cfgScale ?? 0;
  if (!(cfgScale >= 0 && Number.isFinite(cfgScale))) {
    fail(`cfgScale must be a finite number ≥ 0, got ${cfgScale}`);
  }
  const remasking = options.remasking ?? "low_confidence";
  if (!REMASKINGS.includes(remasking)) {
    const names = REMASKINGS.map((r) => `"${r}"`).join(", ");
    fail(`remasking must be one of ${names}, got ${JSON.stringify(remasking)}`);
  }
  const ids = resolveTokenIds(V, options, (model as { config?: ModelSpecialIds }).config);
  const seed = options.seed ?? 0;
  if (!Number.isFinite(seed)) fail(`seed must be a finite number, got ${seed}`);
  checkPrompts(V, prompts, schedule.genLength, ids);
  return {
    ...schedule,
    ...ids,
    temperature,
    cfgScale,
    remasking,
    seed,
    onStep: options.onStep,
    signal: options.signal,
  };
}

/** Throws a `generate:` error. */
function fail(message: string): never {
  throw new Error(`generate: ${message}`);
}

/** Whether `id` is a token id of a vocabulary of `V`. */
function isTokenId(id: unknown, V: number): id is number {
  return Number.isInteger(id) && (id as number) >= 0 && (id as number) < V;
}

/** The block layout and the step schedule: fixed steps per block, or threshold decoding. */
function resolveSchedule(
  options: GenerateOptions,
): Pick<ResolvedOptions, "genLength" | "blockLength" | "blocks" | "stepsPerBlock" | "threshold"> {
  const { genLength, threshold } = options;
  if (!Number.isInteger(genLength) || genLength < 1) {
    fail(`genLength must be a positive integer, got ${genLength}`);
  }
  const blockLength = options.blockLength ?? genLength;
  if (!Number.isInteger(blockLength) || blockLength < 1) {
    fail(`blockLength must be a positive integer, got ${blockLength}`);
  }
  if (genLength % blockLength !== 0) {
    fail(`genLength (${genLength}) must be a multiple of blockLength (${blockLength})`);
  }
  const blocks = genLength / blockLength;
  if (threshold !== undefined) {
    if (typeof threshold !== "number" || !Number.isFinite(threshold)) {
      fail(`threshold must be a finite number, got ${threshold}`);
    }
    return { genLength, blockLength, blocks, threshold };
  }
  const { steps } = options;
  if (steps === undefined) fail("steps is required (or set threshold for threshold decoding)");
  if (!Number.isInteger(steps) || steps! < 1) fail(`steps must be a positive integer, got ${steps}`);
  if (steps! % blocks !== 0) {
    fail(`steps (${steps}) must be a multiple of the number of blocks (genLength / blockLength = ${blocks})`);
  }
  return { genLength, blockLength, blocks, stepsPerBlock: steps! / blocks };
}

/** The mask, EOS and padding ids and the EOS rules, checked against a vocabulary of `V`. */
export function resolveTokenIds(
  V: number,
  options: GenerateOptions,
  config: ModelSpecialIds | undefined,
): Pick<ResolvedOptions, "maskId" | "padId" | "eosId" | "logitsEosInf" | "confidenceEosInf"> {
  // Each id defaults to the model's LLaDA config, when the model carries one.
  const maskId = options.maskId ?? config?.mask_token_id;
  const eosId = options.eosId ?? config?.eos_token_id;
  const padId = options.padId ?? config?.pad_token_id;
  if (maskId === undefined) {
    fail("maskId is required (the id of the mask token) for a model without a LLaDA config");
  }
  if (!isTokenId(maskId, V)) fail(`maskId must be a token id in [0, ${V}), got ${maskId}`);
  const logitsEosInf = options.logitsEosInf ?? false;
  const confidenceEosInf = options.confidenceEosInf ?? false;
  if (eosId !== undefined && (!isTokenId(eosId, V) || eosId === maskId)) {
    fail(`eosId must be a token id in [0, ${V}) other than maskId, got ${eosId}`);
  }
  if ((logitsEosInf || confidenceEosInf) && eosId === undefined) {
    fail("logitsEosInf and confidenceEosInf need eosId");
  }
  if (V - 1 - (logitsEosInf ? 1 : 0) < 1) {
    fail(`a vocabulary of ${V} leaves no token to generate besides the mask`);
  }
  if (padId !== undefined && (!isTokenId(padId, V) || padId === maskId)) {
    fail(`padId must be a token id in [0, ${V}) other than maskId (${maskId}), got ${padId}`);
  }
  return { maskId, padId, eosId, logitsEosInf, confidenceEosInf };
}

/** The special ids of a LLaDA config, which a model may carry (`LLaDAModel.config`). */
interface ModelSpecialIds {
  mask_token_id?: number;
  eos_token_id?: number;
  pad_token_id?: number;
}

/** Every prompt holds token ids other than the mask, and prompts of different lengths come with a `padId`. */
function checkPrompts(
  V: number,
  prompts: readonly (readonly number[])[],
  genLength: number,
  { maskId, padId }: { maskId: number; padId?: number },
): void {
  if (!Array.isArray(prompts) || prompts.length === 0) fail("expected at least one prompt");
  prompts.forEach((prompt, b) => {
    prompt.forEach((id: number, i: number) => {
      if (!isTokenId(id, V)) fail(`prompts[${b}][${i}] = ${id} is not a token id in [0, ${V})`);
      if (id === maskId) {
        fail(`prompts[${b}][${i}] is the mask id; generate fills only the ${genLength} answer positions`);
      }
    });
  });
  const lengths = new Set(prompts.map((p) => p.length));
  if (lengths.size > 1 && padId === undefined) {
    fail(`prompts have different lengths (${[...lengths].join(", ")}): pass padId to left-pad them`);
  }
}

/** Number of mask tokens in `row[from, to)`. */
function countMasks(row: Int32Array, from: number, to: number, maskId: number): number {
  let n = 0;
  for (let i = from; i < to; i++) if (row[i] === maskId) n++;
  return n;
}

/** Whether any row still has a mask in the block `[start, end)`. */
function blockHasMasks(canvas: Canvas, start: number, end: number, maskId: number): boolean {
  for (let b = 0; b < canvas.rows; b++) if (countMasks(rowOf(canvas, b), start, end, maskId) > 0) return true;
  return false;
}

/** FNV-1a over the tokens (and the length): the label of a row's random stream. */
export function hashTokens(tokens: readonly number[]): number {
  let h = 0x811c9dc5;
  const mix = (word: number) => {
    for (let k = 0; k < 4; k++) {
      h ^= (word >>> (8 * k)) & 0xff;
      h = Math.imul(h, 0x01000193);
    }
  };
  mix(tokens.length);
  for (const t of tokens) mix(t);
  return h >>> 0;
}
