/**
 * # The extended sampler: every decoding strategy of the lab on one canvas
 *
 * `reverse_sampling.ts` is the official sampler, kept as the reference. This module runs the same reverse process
 * (read that module first: blocks, the step's five parts, the tie and batch rules all carry over) with the
 * strategies later work added, each in its own file and each off by default:
 *
 * - **ancestral** sampling, the paper's Algorithm 4 as written (`ancestral.ts`): each masked token revealed
 *   independently with probability `(t − s)/t`, a random count per step;
 * - **parallel decoding** by confidence threshold τ or by Fast-dLLM's factor rule f (`parallel_decoding.ts`);
 * - **top-k / top-p** filtering of temperature sampling (`token_filters.ts`);
 * - **early stop**: once a row completes a block that is all EOS, the rest of its answer is EOS, with no further
 *   network evaluations for it (and none at all once every row has stopped);
 * - **remasking** of committed low-confidence tokens, ReMDM-style, with its cap η (`remdm.ts`);
 * - **infilling** ({@link infill}): a canvas with masks anywhere — a prompt with holes, a fixed suffix — decoded
 *   with the same options;
 * - **KV caches** (Fast-dLLM): with a {@link CachedLogitsModel}, `cache: "prefix"` recomputes only the current
 *   block and everything right of it at steps between refreshes, reading the keys and values of the prompt and
 *   finished blocks from a cache filled by a full evaluation; `cache: "dual"` recomputes only the block, the
 *   masked suffix's keys and values cached too. The cache is refilled at the first step of every block (so a
 *   finished block enters the prefix) and every `cacheRefresh` steps inside one. A refresh step is a full
 *   evaluation whose logits are used, so refreshing every step is the uncached sampler exactly.
 *
 * With none of these set, {@link sample} gives {@link generate}'s tokens (tested): the official sampler is the
 * special case. One difference in cost: a step after which no row has a mask left in the block is the block's
 * last (the official loop runs its fixed count of steps even when the masks ran out earlier), so NFE can only
 * be lower.
 *
 * Randomness per row comes from the same stream as in `generate` (`Rng(seed).fork(hash(row))`), drawn in a fixed
 * order per step: the predictions' Gumbel noise position by position, then the strategy's draws (random
 * confidences, or the ancestral reveal's one uniform per candidate). Rows draw only while they have masks in the
 * block, so batch-mates never change a row's result.
 *
 * Left out: classifier-free guidance together with a KV cache (refused with a message; guidance runs uncached),
 * and `generate`'s device fast path for greedy decoding on WebGPU (`device_sampling.ts`): this sampler always
 * decides on the host, so for plain greedy low-confidence decoding `generate` is the faster call.
 *
 * @module
 */

import {
  type CachedLogitsModel,
  isCachedLogitsModel,
  type KVCache,
  type LogitsModel,
} from "./logits_model.ts";
import { Rng } from "../rng.ts";
import { guidedLogits } from "./guidance.ts";
import { softmaxNormaliser } from "./softmax.ts";
import {
  answers,
  buildCanvas,
  type Canvas,
  confidence,
  type GenerateOptions,
  hashTokens,
  numTransferTokens,
  predictToken,
  REMASKINGS,
  type ResolvedOptions,
  resolveOptions,
  resolveTokenIds,
  type StepState,
} from "./reverse_sampling.ts";
import { checkTokenFilter, filterLogits } from "./token_filters.ts";
import { parallelCommitCount, type ParallelRule } from "./parallel_decoding.ts";
import { ancestralReveal, revealProbability } from "./ancestral.ts";
import { chooseRemasks, remaskProbability } from "./remdm.ts";

/** The strategies: the official sampler's rankings, plus Algorithm 4's ancestral reveal. */
export const STRATEGIES = [...REMASKINGS, "ancestral"] as const;

/** Which predictions a step commits: ranked by a confidence, or (`ancestral`) each at random. */
export type Strategy = typeof STRATEGIES[number];

/** The KV cache modes (Fast-dLLM): none, the prefix cache, the dual (prefix and suffix) cache. */
export const CACHES = ["none", "prefix", "dual"] as const;

/** A KV cache mode. */
export type CacheMode = typeof CACHES[number];

/** The step's state, as {@link StepState}, plus the positions ReMDM remasked. */
export interface SampleStepState extends StepState {
  /** Per row, the positions (without padding) set back to the mask at this step. */
  remasked: number[][];
}

/** Options shared by {@link sample} and {@link infill}. */
export interface StrategyOptions extends Omit<GenerateOptions, "remasking" | "onStep" | "genLength"> {
  /** How the predictions to commit are chosen (default `"low_confidence"`). */
  strategy?: Strategy;
  /** Fast-dLLM's factor rule: commit the top `n` while `(i + 1)(1 − c_(i)) ≤ f` (replaces `steps`). */
  factor?: number;
  /** Keep only the `k` most likely tokens when sampling at temperature > 0. */
  topK?: number;
  /** Keep the smallest most likely set with mass ≥ `p` when sampling at temperature > 0. */
  topP?: number;
  /** ReMDM's cap η ∈ [0, 1] for remasking committed low-confidence tokens (default 0: off). */
  remask?: number;
  /** KV cache mode (default `"none"`); `"prefix"` and `"dual"` need a {@link CachedLogitsModel}. */
  cache?: CacheMode;
  /** Steps between cache refreshes inside a block (default: only when a block starts). */
  cacheRefresh?: number;
  /** Called after every step (may be async). */
  onStep?: (state: SampleStepState) => void | Promise<void>;
}

/** Options of {@link sample}. */
export interface SampleOptions extends StrategyOptions {
  /** Number of tokens to generate after each prompt. */
  genLength: number;
  /** Stop a row once it completes a block that is all EOS (needs `eosId`); the rest of its answer is EOS. */
  earlyStop?: boolean;
}

/** What {@link sample} and {@link infill} return. */
export interface SampleResult {
  /** Each row's tokens: `prompt ‖ answer` for {@link sample}, the filled canvas for {@link infill}. */
  tokens: number[][];
  /** Network evaluations performed (full and cached ones alike). */
  nfe: number;
  /**
   * Per row, the evaluations made while that row still had a mask in the block being decoded: what decoding the
   * row alone costs (rows are decoded independently). With a threshold or factor rule rows finish a block after
   * different numbers of steps and the block waits for the slowest, so {@link nfe} is at least every row's count.
   */
  nfePerRow: number[];
}

/**
 * Generates `genLength` tokens after each prompt with any strategy of the lab (see the module documentation).
 * Without the lab's options it equals {@link generate}.
 *
 * @param model the mask predictor; a {@link CachedLogitsModel} for `cache: "prefix" | "dual"`.
 * @param prompts one token sequence per row (left-padded with `padId` when lengths differ).
 * @param options see {@link SampleOptions}.
 * @returns every row's `prompt ‖ answer` and the number of network evaluations.
 *
 * @example
 * ```ts
 * const { tokens, nfe } = await sample(model, [prompt], {
 *   genLength: 64, blockLength: 16, factor: 1, cache: "dual", maskId: tok.maskId,
 * });
 * ```
 */
export async function sample(
  model: LogitsModel,
  prompts: readonly (readonly number[])[],
  options: SampleOptions,
): Promise<SampleResult> {
  const o = resolveStrategyOptions(
    model,
    options,
    (generateOptions) => resolveOptions(model, prompts, { ...generateOptions, genLength: options.genLength }),
  );
  if (options.earlyStop && o.eosId === undefined) fail("earlyStop needs eosId");
  const canvas = buildCanvas(prompts, o);
  const blocks = Array.from({ length: o.blocks }, (_, k): Block => {
    const start = canvas.promptWidth + k * o.blockLength;
    return [start, start + o.blockLength];
  });
  const rngs = prompts.map((prompt) => new Rng(o.seed).fork(hashTokens(prompt)));
  const { nfe, nfePerRow } = await decodeCanvas(model, canvas, blocks, rngs, {
    ...o,
    earlyStop: options.earlyStop ?? false,
  });
  return { tokens: answers(canvas), nfe, nfePerRow };
}

/**
 * Infilling: fills every mask of each canvas row, wherever it is — holes in a prompt, a gap before a fixed
 * suffix — with the lab's strategies. The canvas is cut into blocks of `blockLength` positions from its start
 * (default: one block); blocks without a mask in any row are skipped, and `steps` (fixed schedule) is spread
 * evenly over the blocks that have one, which must divide it. Every given token is context on both sides and is
 * never changed; with guidance, the unconditional half masks every given token.
 *
 * @param model the mask predictor.
 * @param canvases rows of equal length holding token ids and `maskId` where a token is to be filled.
 * @param options see {@link StrategyOptions} (`padId` is not used: rows have equal lengths).
 * @returns the filled rows and the number of network evaluations.
 *
 * @example
 * ```ts
 * const M = tok.maskId;
 * const { tokens } = await infill(model, [[...tok.encode("the "), M, M, M, ...tok.encode(" sat")]], {
 *   steps: 3, maskId: M,
 * });
 * ```
 */
export async function infill(
  model: LogitsModel,
  canvases: readonly (readonly number[])[],
  options: StrategyOptions,
): Promise<SampleResult> {
  if (!Array.isArray(canvases) || canvases.length === 0) fail("infill expects at least one canvas row");
  const width = canvases[0].length;
  if (canvases.some((c) => c.length !== width)) {
    fail(`infill rows must have equal lengths, got ${canvases.map((c) => c.length).join(", ")}`);
  }
  const blockLength = options.blockLength ?? width;
  if (!Number.isInteger(blockLength) || blockLength < 1 || width % blockLength !== 0) {
    fail(`blockLength must be a positive integer dividing the canvas width ${width}, got ${blockLength}`);
  }
  const config = (model as { config?: Parameters<typeof resolveTokenIds>[2] }).config;
  const { maskId } = resolveTokenIds(
    model.vocabSize,
    { ...options, genLength: width, onStep: undefined },
    config,
  );
  const rows = canvases.length;
  const tokens = new Int32Array(rows * width);
  canvases.forEach((c, b) =>
    c.forEach((id: number, i: number) => {
      if (!Number.isInteger(id) || id < 0 || id >= model.vocabSize) {
        fail(`canvases[${b}][${i}] = ${id} is not a token id in [0, ${model.vocabSize})`);
      }
      tokens[b * width + i] = id;
    })
  );
  const blocks: Block[] = [];
  for (let start = 0; start < width; start += blockLength) {
    const block: Block = [start, start + blockLength];
    if (anyMasks(tokens, rows, width, block, maskId)) blocks.push(block);
  }
  if (blocks.length === 0) fail("the canvas has no mask to fill");
  // The fixed schedule spreads `steps` over the blocks that hold masks; resolve it as a generation of that many
  // blocks (the shared checks give the same messages as generate).
  const o = resolveStrategyOptions(model, options, (generateOptions) =>
    resolveOptions(model, [[]], {
      ...generateOptions,
      genLength: blocks.length * blockLength,
      blockLength,
    }));
  const isPrompt = new Uint8Array(rows * width);
  for (let i = 0; i < tokens.length; i++) isPrompt[i] = tokens[i] === maskId ? 0 : 1;
  const canvas: Canvas = { tokens, rows, width, promptWidth: 0, pads: new Array(rows).fill(0), isPrompt };
  const rngs = canvases.map((c) => new Rng(o.seed).fork(hashTokens(c)));
  const { nfe, nfePerRow } = await decodeCanvas(model, canvas, blocks, rngs, { ...o, earlyStop: false });
  return { tokens: answers(canvas), nfe, nfePerRow };
}

/** A block of canvas positions `[start, end)`. */
type Block = [number, number];

/** Resolved options: the official sampler's, plus the lab's. */
interface LabOptions extends Omit<ResolvedOptions, "remasking" | "onStep"> {
  strategy: Strategy;
  rule?: { kind: ParallelRule; value: number };
  topK?: number;
  topP?: number;
  remask: number;
  cache: CacheMode;
  cacheRefresh: number;
  onStep?: (state: SampleStepState) => void | Promise<void>;
}

/**
 * Runs the reverse process over the given blocks of a canvas, in place; returns the NFE, in all and per row (see
 * {@link SampleResult.nfePerRow}). Per block: the fixed schedule's steps, or (threshold, factor) as many as it
 * takes; a block ends early once no row has a mask in it.
 */
async function decodeCanvas(
  model: LogitsModel,
  canvas: Canvas,
  blocks: Block[],
  rngs: Rng[],
  o: LabOptions & { earlyStop: boolean },
): Promise<{ nfe: number; nfePerRow: number[] }> {
  const { rows, width } = canvas;
  let nfe = 0;
  const nfePerRow = new Array<number>(rows).fill(0);
  const held: { cache?: KVCache } = {};
  const stopped = new Array(rows).fill(false);
  try {
    for (let blockIndex = 0; blockIndex < blocks.length; blockIndex++) {
      const [start, end] = blocks[blockIndex];
      // Positions committed in this block so far, per row: ReMDM's candidates for remasking.
      const committedHere: number[][] = Array.from({ length: rows }, () => []);
      for (let step = 0; o.stepsPerBlock === undefined || step < o.stepsPerBlock; step++) {
        if (!anyMasks(canvas.tokens, rows, width, [start, end], o.maskId)) break;
        // Step 1 — logits, through the cache when one is used.
        const view = await stepLogits(model, canvas, [start, end], step, o, held);
        nfe++;
        for (let b = 0; b < rows; b++) {
          if (
            !stopped[b] &&
            anyMasks(canvas.tokens.subarray(b * width, (b + 1) * width), 1, width, [start, end], o.maskId)
          ) {
            nfePerRow[b]++;
          }
        }
        // Steps 2–5 row by row, inside the block.
        const decided = rngs.map((rng, b) =>
          stopped[b]
            ? emptyStep(width)
            : decideRow(canvas, b, view, [start, end], step, committedHere[b], o, rng)
        );
        if (o.onStep) {
          const unpad = <A extends Float64Array | Int32Array>(a: A, b: number) =>
            Array.from(a.subarray(canvas.pads[b]));
          await o.onStep({
            block: blockIndex,
            step,
            nfe,
            tokens: answers(canvas),
            committed: decided.map((d, b) => d.committed.map((i) => i - canvas.pads[b])),
            remasked: decided.map((d, b) => d.remasked.map((i) => i - canvas.pads[b])),
            confidence: decided.map((d, b) => unpad(d.confidence, b)),
            predicted: decided.map((d, b) => unpad(d.predicted, b)),
          });
        }
      }
      if (o.earlyStop) {
        stopFinishedRows(canvas, [start, end], stopped, o.eosId!);
        if (stopped.every(Boolean)) break;
      }
    }
  } finally {
    held.cache?.dispose();
  }
  return { nfe, nfePerRow };
}

/**
 * One step's logits: a full evaluation (which refills the cache when one is used and is due a refresh), or a
 * cached evaluation of the window `[start, to)` only — the block (dual cache) or everything after it (prefix).
 */
async function stepLogits(
  model: LogitsModel,
  canvas: Canvas,
  [start, end]: Block,
  step: number,
  o: LabOptions,
  held: { cache?: KVCache },
): Promise<LogitsView> {
  const { rows, width } = canvas;
  const V = model.vocabSize;
  if (o.cache === "none") {
    const logits = await guidedLogits(model, canvas.tokens, rows, width, canvas.isPrompt, {
      maskId: o.maskId,
      cfgScale: o.cfgScale,
      attentionMask: canvas.attentionMask,
    });
    return { logits, from: 0, span: width, V };
  }
  const cached = model as CachedLogitsModel;
  if (step % o.cacheRefresh === 0) {
    held.cache?.dispose();
    const full = await cached.logitsAndCache(canvas.tokens, rows, width, canvas.attentionMask);
    held.cache = full.cache;
    return { logits: full.logits, from: 0, span: width, V };
  }
  const to = o.cache === "dual" ? end : width;
  const logits = await cached.logitsCached(
    held.cache!,
    canvas.tokens,
    rows,
    width,
    start,
    to,
    canvas.attentionMask,
  );
  return { logits, from: start, span: to - start, V };
}

/** Early stop: a row whose block came out all EOS is finished, the rest of its answer EOS, decoded by no one. */
function stopFinishedRows(canvas: Canvas, [start, end]: Block, stopped: boolean[], eosId: number): void {
  for (let b = 0; b < canvas.rows; b++) {
    const row = canvas.tokens.subarray(b * canvas.width, (b + 1) * canvas.width);
    if (!stopped[b] && row.subarray(start, end).every((t) => t === eosId)) {
      stopped[b] = true;
      row.fill(eosId, end);
    }
  }
}

/** The logits of one evaluation: positions `[from, from + span)` of every row. */
interface LogitsView {
  logits: Float32Array | Float64Array;
  from: number;
  span: number;
  V: number;
}

/** What one row's step decided (canvas positions, padding included). */
interface RowDecision {
  committed: number[];
  remasked: number[];
  confidence: Float64Array;
  predicted: Int32Array;
}

/** A row that waits: nothing decided, no randomness drawn. */
function emptyStep(width: number): RowDecision {
  return {
    committed: [],
    remasked: [],
    confidence: new Float64Array(width).fill(-Infinity),
    predicted: new Int32Array(width).fill(-1),
  };
}

/**
 * One step for row `b`: predict every masked position of the block (steps 2–4 of the official sampler, with
 * top-k/top-p before the draw), then commit by the strategy — the fixed count (with ReMDM's remasking when
 * η > 0), the threshold or factor rule, or the ancestral coin flips.
 */
function decideRow(
  canvas: Canvas,
  b: number,
  view: LogitsView,
  [start, end]: Block,
  step: number,
  committedHere: number[],
  o: LabOptions,
  rng: Rng,
): RowDecision {
  const { width } = canvas;
  const row = canvas.tokens.subarray(b * width, (b + 1) * width);
  const decision = emptyStep(width);
  const candidates: number[] = [];
  for (let i = start; i < end; i++) if (row[i] === o.maskId) candidates.push(i);
  if (candidates.length === 0) return decision;
  const { V } = view;
  const at = (i: number) => (b * view.span + i - view.from) * V;
  const scratch = new Float64Array(V);
  const filtered = new Float64Array(V);
  const ranking = o.strategy === "ancestral" ? "low_confidence" : o.strategy;
  for (const i of candidates) {
    // Step 2 — the position's logits in float64, EOS forbidden if asked.
    for (let v = 0; v < V; v++) scratch[v] = view.logits[at(i) + v];
    if (o.logitsEosInf) scratch[o.eosId!] = -Infinity;
    // Step 3 — x̂, drawn from the top-k/top-p set at temperature > 0.
    let xHat: number;
    if (o.temperature > 0 && (o.topK !== undefined || o.topP !== undefined)) {
      filtered.set(scratch);
      filtered[o.maskId] = -Infinity; // M is never drawn, so it must not take a place in the top-k or top-p set
      filterLogits(filtered, o, o.temperature);
      xHat = predictToken(filtered, o.temperature, o.maskId, rng);
    } else xHat = predictToken(scratch, o.temperature, o.maskId, rng);
    // Step 4 — its confidence (from the unfiltered, un-noised logits).
    let c = confidence(scratch, xHat, ranking, rng);
    if (o.confidenceEosInf && xHat === o.eosId) c = -Infinity;
    if (Number.isNaN(c)) {
      fail(`the model returned NaN logits (row ${b}, position ${i - canvas.pads[b]}); check it`);
    }
    decision.predicted[i] = xHat;
    decision.confidence[i] = c;
  }
  // Step 5 — rank (confidence high to low, ties to the lower position), then commit by the strategy.
  const conf = decision.confidence;
  const ranked = candidates.slice().sort((i, j) => (conf[i] > conf[j] ? -1 : conf[i] < conf[j] ? 1 : i - j));
  let chosen: number[];
  let remasked: number[] = [];
  if (o.strategy === "ancestral") {
    // Algorithm 4: every candidate independently with probability (t − s)/t; certainty at the last step.
    chosen = ancestralReveal(candidates, revealProbability(step, o.stepsPerBlock!), rng);
  } else if (o.rule) {
    chosen = ranked.slice(0, parallelCommitCount(ranked.map((i) => conf[i]), o.rule.kind, o.rule.value));
  } else {
    const stepsLeft = o.stepsPerBlock! - step;
    if (o.remask > 0) remasked = remdmRemasks(row, committedHere, view, at, step, o);
    // Masks left spread evenly over the steps left (with no remasking: exactly numTransferTokens of the block).
    const count = Math.min(
      candidates.length,
      numTransferTokens(candidates.length + remasked.length, stepsLeft)[0],
    );
    chosen = ranked.slice(0, count);
  }
  for (const i of chosen) row[i] = decision.predicted[i];
  for (const i of remasked) row[i] = o.maskId;
  const gone = new Set(remasked);
  const kept = committedHere.filter((i) => !gone.has(i));
  committedHere.length = 0;
  committedHere.push(...kept, ...chosen);
  decision.committed = chosen;
  decision.remasked = remasked;
  return decision;
}

/** ReMDM: which committed tokens of this block go back to the mask, judged by the model's current belief in them. */
function remdmRemasks(
  row: Int32Array,
  committedHere: number[],
  view: LogitsView,
  at: (i: number) => number,
  step: number,
  o: LabOptions,
): number[] {
  const probability = new Float64Array(row.length);
  for (const i of committedHere) {
    const { max, sum } = softmaxNormaliser(view.logits, at(i), view.V);
    probability[i] = Math.exp(view.logits[at(i) + row[i]] - max) / sum;
  }
  return chooseRemasks(committedHere, probability, remaskProbability(o.remask, step, o.stepsPerBlock!));
}

/**
 * Checks the lab's options and resolves the shared ones through the official sampler's checks (`resolveShared`
 * gets the options `generate` understands).
 */
function resolveStrategyOptions(
  model: LogitsModel,
  options: StrategyOptions,
  resolveShared: (o: Omit<GenerateOptions, "genLength">) => ResolvedOptions,
): LabOptions {
  const strategy = options.strategy ?? "low_confidence";
  if (!STRATEGIES.includes(strategy)) {
    fail(
      `strategy must be one of ${STRATEGIES.map((s) => `"${s}"`).join(", ")}, got ${
        JSON.stringify(strategy)
      }`,
    );
  }
  const { threshold, factor } = options;
  if (threshold !== undefined && factor !== undefined) fail("threshold and factor are two rules: set one");
  if (factor !== undefined && !(Number.isFinite(factor) && factor > 0)) {
    fail(`factor must be a finite number > 0, got ${factor}`);
  }
  const parallel = threshold !== undefined || factor !== undefined;
  if (strategy === "ancestral" && parallel) {
    fail("ancestral sampling reveals a random count per step; it takes steps, not threshold or factor");
  }
  const remask = options.remask ?? 0;
  if (!(remask >= 0 && remask <= 1)) fail(`remask (ReMDM's η) must be in [0, 1], got ${remask}`);
  if (remask > 0 && (parallel || strategy === "ancestral")) {
    fail("remask works with the fixed schedule of a ranking strategy (not ancestral, threshold or factor)");
  }
  checkTokenFilter(options, "generate");
  const cache = options.cache ?? "none";
  if (!CACHES.includes(cache)) {
    fail(`cache must be one of ${CACHES.map((c) => `"${c}"`).join(", ")}, got ${JSON.stringify(cache)}`);
  }
  if (cache !== "none" && !isCachedLogitsModel(model)) {
    fail(`cache "${cache}" needs a model with logitsAndCache and logitsCached (an LLaDAModel has them)`);
  }
  if (cache !== "none" && (options.cfgScale ?? 0) > 0) {
    fail('classifier-free guidance runs without a KV cache: set cache to "none" or cfgScale to 0');
  }
  const cacheRefresh = options.cacheRefresh ?? Infinity;
  if (!(cacheRefresh === Infinity || (Number.isInteger(cacheRefresh) && cacheRefresh >= 1))) {
    fail(`cacheRefresh must be a positive integer (steps between refreshes), got ${cacheRefresh}`);
  }
  // The shared options: a parallel rule resolves as threshold decoding (no fixed step count).
  const shared = resolveShared({
    ...options,
    threshold: parallel ? (threshold ?? 0) : undefined,
    remasking: strategy === "ancestral" ? "low_confidence" : strategy,
    onStep: undefined,
  });
  const rule = threshold !== undefined
    ? { kind: "threshold" as const, value: threshold }
    : factor !== undefined
    ? { kind: "factor" as const, value: factor }
    : undefined;
  const { remasking: _, onStep: __, threshold: ___, ...rest } = shared;
  return {
    ...rest,
    strategy,
    rule,
    topK: options.topK,
    topP: options.topP,
    remask,
    cache,
    cacheRefresh,
    onStep: options.onStep,
  };
}

/** Whether any row has a mask in `[start, end)`. */
function anyMasks(
  tokens: Int32Array,
  rows: number,
  width: number,
  [start, end]: Block,
  maskId: number,
): boolean {
  for (let b = 0; b < rows; b++) {
    for (let i = b * width + start; i < b * width + end; i++) if (tokens[i] === maskId) return true;
  }
  return false;
}

/** Throws a `generate:` error (the lab's options are generate's, extended). */
function fail(message: string): never {
  throw new Error(`generate: ${message}`);
}
