/**
 * The sampler lab's synthetic task: **choose one of two symbols and write it 8 times**.
 *
 * A row is `p q | x₁…x₈`: two different symbols, and an answer that is one of the two candidates `p⁸` or `q⁸`
 * entirely, each with probability ½ in training. Exact match counts either whole candidate as correct and any
 * mix of the two as wrong.
 *
 * What makes it a test of parallel decoding is that the answer's tokens depend on each other. Given the prompt
 * alone, every answer position is a coin flip between `p` and `q` (a trained model gives each about ½); once one
 * answer token is committed, all the others are determined. So, sampling from the model (temperature 1):
 *
 * - committing all 8 positions from one evaluation draws each coin separately, and the answer is a whole
 *   candidate with probability 2 · 2⁻⁸ (under 1 %) for a model that has learnt the task;
 * - one token per step reaches ~100 %;
 * - a confidence rule (Fast-dLLM's threshold or factor) commits the one uncertain token first, alone because no
 *   position is confident, and the rest at the next step, when all are: about 2 evaluations per block, without
 *   the mix.
 *
 * This is Fast-dLLM's argument in its smallest form: a parallel step samples from the product of the marginals,
 * which here is far from the joint (a ½/½ mixture of two strings that differ at every position). The task is
 * decoded by sampling, not greedily: with a greedy argmax every position breaks the ½/½ tie by the network's same
 * slight preference for one symbol, which picks a whole candidate and hides the dependence.
 *
 * Why repeated symbols rather than two arbitrary strings `a ; b` to choose from: with arbitrary strings the
 * network must copy from two aligned places and compare a visible answer token with the prompt to tell which
 * candidate it belongs to, a circuit the 2-layer model did not form within 1,800 SFT steps (its loss stayed near
 * 0.75, above `ln 2`, the loss of copying without choosing; 3 layers did no better by step 1,000). Here a visible
 * answer token names its candidate by itself, the model learns the task in minutes on the CPU, and the dependence
 * between the answer's tokens is the same.
 *
 * Training is LLaDA's SFT (the prompt is never masked). Its loss cannot reach 0: a row whose answer is wholly
 * masked leaves every position a coin flip ({@link choiceLossFloor} is the loss of the exact conditional).
 *
 * @module
 */

import type { Rng } from "../rng.ts";
import { MASK_EPS } from "../llada/forward_masking.ts";

/** The task's shape and token ids: mask 0, the answer separator `|` 1, symbols 2…9. */
export const CHOICE = { length: 8, alphabet: 8, mask: 0, sep: 1, firstSymbol: 2 } as const;

/** Tokens of a prompt `p q |`. */
export const CHOICE_PROMPT_LENGTH = 3;

/** Tokens of a whole row `p q | answer`. */
export const CHOICE_WIDTH = CHOICE_PROMPT_LENGTH + CHOICE.length;

/** Token ids of the task: the mask, the separator and the symbols. */
export const CHOICE_VOCAB_SIZE = CHOICE.firstSymbol + CHOICE.alphabet;

/** The two candidates a prompt `p q |` offers. */
export interface ChoiceCandidates {
  p: number;
  q: number;
  /** `p` repeated `CHOICE.length` times. */
  a: number[];
  /** `q` repeated `CHOICE.length` times. */
  b: number[];
}

/** A training example: the candidates and which one is the answer. */
export interface ChoiceExample extends ChoiceCandidates {
  /** The answer: `a` or `b`. */
  answer: number[];
}

/** The candidates of the prompt `p q |`. */
export function choiceCandidates(p: number, q: number): ChoiceCandidates {
  const symbol = (s: number) => Number.isInteger(s) && s >= CHOICE.firstSymbol && s < CHOICE_VOCAB_SIZE;
  if (!symbol(p) || !symbol(q) || p === q) {
    throw new Error(
      `choiceCandidates: expected two different symbols in [${CHOICE.firstSymbol}, ${CHOICE_VOCAB_SIZE}), ` +
        `got ${p} and ${q}`,
    );
  }
  return { p, q, a: Array<number>(CHOICE.length).fill(p), b: Array<number>(CHOICE.length).fill(q) };
}

/** Every prompt of the task: the ordered pairs of different symbols (56 with 8 symbols). */
export function everyChoicePrompt(): ChoiceCandidates[] {
  const symbols = Array.from({ length: CHOICE.alphabet }, (_, i) => CHOICE.firstSymbol + i);
  return symbols.flatMap((p) => symbols.filter((q) => q !== p).map((q) => choiceCandidates(p, q)));
}

/** Draws an example: `p` uniform over the symbols, `q` uniform over the others, the answer `p⁸` or `q⁸` (½ each). */
export function choiceExample(rng: Rng): ChoiceExample {
  const p = CHOICE.firstSymbol + rng.int(0, CHOICE.alphabet - 1);
  // a draw from the alphabet less one, shifted past p: uniform over the other symbols
  const k = CHOICE.firstSymbol + rng.int(0, CHOICE.alphabet - 2);
  const candidates = choiceCandidates(p, k >= p ? k + 1 : k);
  return { ...candidates, answer: rng.uniform() < 0.5 ? candidates.a : candidates.b };
}

/** The prompt of an example: `p q |`. */
export function choicePrompt(e: ChoiceCandidates): number[] {
  return [e.p, e.q, CHOICE.sep];
}

/** A whole training row: `p q | answer`. */
export function choiceRow(e: ChoiceExample): number[] {
  return [...choicePrompt(e), ...e.answer];
}

/** Exact match: the generated answer is one candidate entirely (either one); a mix of the two is wrong. */
export function choiceCorrect(e: ChoiceCandidates, answer: readonly number[]): boolean {
  const same = (x: readonly number[]) => x.length === answer.length && x.every((s, i) => s === answer[i]);
  return same(e.a) || same(e.b);
}

/**
 * The SFT loss (nats per answer token, as `sftLossWeights` weighs it) of the exact conditional distribution: the
 * floor a perfect model reaches. A position is uncertain only when the whole answer is masked; then it costs
 * `ln 2`. With the masking probability `p = (1 − ε)t + ε`, `t ~ U(0, 1)`, and the loss of a row weighed by
 * `1 / (p · L)`, the expected loss is `ln 2 · E[p^(L−1)] = ln 2 · (1 − ε^L) / (L (1 − ε))`.
 *
 * @param eps the masking floor ε (the trainer's default unless given).
 */
export function choiceLossFloor(eps = MASK_EPS): number {
  const L = CHOICE.length;
  return Math.LN2 * (1 - eps ** L) / (L * (1 - eps));
}
