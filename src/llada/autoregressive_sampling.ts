/**
 * The autoregressive twin's decoder, behind the same kind of call as the mask predictor's sampler, so the two
 * models are compared on one interface (`generate`/`sample` for LLaDA, {@link generateAutoregressive} for the
 * twin: prompts in, `prompt ‖ answer` and the NFE out).
 *
 * The twin is the same network with causal attention, trained to predict token `t + 1` from tokens `≤ t`
 * (`model/llada.ts`). Decoding is the usual left-to-right loop: evaluate the sequence so far, take the logits at
 * its last position, draw the next token — `argmax` at temperature 0, otherwise the Gumbel-max draw of the
 * official sampler (`predictToken` of `reverse_sampling.ts`) from `softmax(l / temperature)` restricted by top-k
 * and top-p (`token_filters.ts`) — append it, repeat `genLength` times. One network evaluation per token.
 *
 * The twin's training text is documents packed with EOS between them, so the twin has seen EOS before every
 * document: `bosId` (its callers pass the EOS id) is put before every prompt and left out of the result, and an
 * empty prompt then asks for the start of a document. Without `bosId` the prompt is read as it is (a passage
 * taken from inside a document, as the sampler lab's prompts are), and must not be empty.
 *
 * Batches follow the mask predictor's rules: prompts left-padded with `padId` (kept out of attention by the
 * attention mask), each row's randomness from its own stream `Rng(seed).fork(hash(prompt))`, so a row's output
 * does not depend on its batch-mates. With `earlyStop` a row that emits EOS is finished (the rest of its answer
 * is EOS) and the loop ends when every row has.
 *
 * Left out: a KV cache (each step re-evaluates the whole sequence; the causal model's cache is the ordinary one
 * and is not needed at this project's sizes). A mask id, when given, is never drawn: the twin shares the mask
 * predictor's vocabulary, mask token included, but is never trained to produce it.
 *
 * @module
 */

import type { LogitsModel } from "./logits_model.ts";
import { Rng } from "../rng.ts";
import { hashTokens, predictToken } from "./reverse_sampling.ts";
import { checkTokenFilter, filterLogits } from "./token_filters.ts";
import type { SampleResult } from "./strategies.ts";

/** Options of {@link generateAutoregressive}. */
export interface AutoregressiveOptions {
  /** Tokens to generate after each prompt. */
  genLength: number;
  /** Sampling temperature (default 0: greedy). */
  temperature?: number;
  /** Keep the `k` most likely tokens when sampling. */
  topK?: number;
  /** Keep the smallest most likely set with mass ≥ `p` when sampling. */
  topP?: number;
  /** A token never to draw (the mask id of the shared vocabulary). */
  maskId?: number;
  /** A token put before every prompt and dropped from the result (the twin's document boundary, EOS). */
  bosId?: number;
  /** Left padding for prompts of different lengths (required then). */
  padId?: number;
  /** The EOS id (required by `earlyStop`). */
  eosId?: number;
  /** A row that emits EOS is finished: the rest of its answer is EOS. */
  earlyStop?: boolean;
  /** Seed of the randomness (default 0). */
  seed?: number;
}

/**
 * Generates `genLength` tokens after each prompt with an autoregressive model, left to right (see the module
 * documentation).
 *
 * @param model a causal network (logits at position `t` predict token `t + 1`).
 * @param prompts token sequences, one per row (non-empty unless `bosId` is given).
 * @param options see {@link AutoregressiveOptions}.
 * @returns every row's `prompt ‖ answer` and the network evaluations.
 *
 * @example
 * ```ts
 * const { tokens } = await generateAutoregressive(twin, [prompt], {
 *   genLength: 64, temperature: 0.8, topP: 0.9, bosId: tok.eosId, maskId: tok.maskId,
 * });
 * ```
 */
export async function generateAutoregressive(
  model: LogitsModel,
  prompts: readonly (readonly number[])[],
  options: AutoregressiveOptions,
): Promise<SampleResult> {
  const { bosId } = options;
  if (bosId !== undefined) {
    checkTokenId(bosId, model.vocabSize, "bosId");
    const withBos = prompts.map((p) => [bosId, ...p]);
    const result = await generateAutoregressive(model, withBos, { ...options, bosId: undefined });
    return { ...result, tokens: result.tokens.map((row) => row.slice(1)) };
  }
  const { genLength, padId, eosId, maskId } = options;
  const temperature = options.temperature ?? 0;
  const seed = options.seed ?? 0;
  const V = model.vocabSize;
  const fail = (message: string): never => {
    throw new Error(`generateAutoregressive: ${message}`);
  };
  if (!Number.isInteger(genLength) || genLength < 1) {
    fail(`genLength must be a positive integer, got ${genLength}`);
  }
  if (!(temperature >= 0 && Number.isFinite(temperature))) fail(`temperature must be finite and ≥ 0`);
  checkTokenFilter(options, "generateAutoregressive");
  if (options.earlyStop && eosId === undefined) fail("earlyStop needs eosId");
  if (prompts.length === 0 || prompts.some((p) => p.length === 0)) {
    fail(
      "every prompt needs at least one token (the first prediction reads the last prompt token), or give bosId",
    );
  }
  const widthOf = Math.max(...prompts.map((p) => p.length));
  if (padId === undefined && prompts.some((p) => p.length !== widthOf)) {
    fail("prompts have different lengths: pass padId to left-pad them");
  }
  for (const [b, p] of prompts.entries()) {
    const bad = p.findIndex((t) => !Number.isInteger(t) || t < 0 || t >= V);
    if (bad >= 0) fail(`prompts[${b}][${bad}] = ${p[bad]} is not a token id in [0, ${V})`);
  }
  const rows = prompts.map((p) => [...p]);
  const pads = prompts.map((p) => widthOf - p.length);
  const rngs = prompts.map((p) => new Rng(seed).fork(hashTokens(p)));
  const done = new Array(prompts.length).fill(false);
  const scratch = new Float64Array(V);
  let nfe = 0;
  const nfePerRow = new Array<number>(prompts.length).fill(0);
  for (let t = 0; t < genLength && !done.every(Boolean); t++) {
    // The sequences so far, left-padded to one width: [rows, width].
    const width = widthOf + t;
    const tokens = new Int32Array(prompts.length * width);
    const mask = pads.some((n) => n > 0) ? new Uint8Array(prompts.length * width).fill(1) : undefined;
    rows.forEach((row, b) => {
      tokens.fill(padId ?? 0, b * width, b * width + pads[b]);
      mask?.fill(0, b * width, b * width + pads[b]);
      tokens.set(row, b * width + pads[b]);
    });
    const logits = await model.logits(tokens, prompts.length, width, mask);
    nfe++;
    done.forEach((d, b) => nfePerRow[b] += d ? 0 : 1);
    rows.forEach((row, b) => {
      if (done[b]) {
        row.push(eosId!);
        return;
      }
      // The last position's logits predict the next token.
      const offset = (b * width + width - 1) * V;
      for (let v = 0; v < V; v++) scratch[v] = logits[offset + v];
      if (maskId !== undefined) scratch[maskId] = -Infinity; // never drawn, so never among the kept top-k
      if (temperature > 0) filterLogits(scratch, options, temperature);
      const next = predictToken(scratch, temperature, maskId ?? -1, rngs[b]);
      row.push(next);
      if (options.earlyStop && next === eosId) done[b] = true;
    });
  }
  // Rows finished early: the rest of the answer is EOS.
  rows.forEach((row, b) => {
    while (row.length < prompts[b].length + genLength) row.push(eosId!);
  });
  return { tokens: rows, nfe, nfePerRow };
}

/** Throws unless `id` is a token id of the model's vocabulary. */
function checkTokenId(id: number, V: number, name: string): void {
  if (!Number.isInteger(id) || id < 0 || id >= V) {
    throw new Error(`generateAutoregressive: ${name} = ${id} is not a token id in [0, ${V})`);
  }
}
