/**
 * The sampler lab's synthetic task: **choose one of two strings and copy it whole**.
 *
 * A row is `a₁…a₈ ; b₁…b₈ | x₁…x₈`: two candidate strings of 8 symbols that differ at every position, and an
 * answer that is one of them entirely, `a` or `b` with probability ½ each in training. Exact match counts either
 * whole candidate as correct and any mix of the two as wrong.
 *
 * What makes it a test of parallel decoding is that the answer's tokens depend on each other. Given the prompt
 * alone, every answer position is a coin flip between `aᵢ` and `bᵢ` (a trained model gives each about ½); once
 * one answer token is committed, all the others are determined. So:
 *
 * - committing all 8 positions from one evaluation decides each coin separately, and the answer is a whole
 *   candidate with probability 2 · 2⁻⁸ (under 1 %) for a model that has learnt the task;
 * - one token per step reaches ~100 %;
 * - a confidence rule (Fast-dLLM's threshold or factor) commits the one uncertain token first, alone because no
 *   candidate is confident, and the rest at the next step, when all are: about 2 evaluations per block, without
 *   the mix.
 *
 * The candidates differ at every position so that any position decided against the others breaks the answer;
 * with shared positions some coins would be free, and all-at-once decoding would look better than it is.
 * Both are drawn freely (not, say, from two halves of the alphabet, which would let a visible token tell its
 * candidate by itself): a network's small preferences between symbols then favour `a` at some positions and `b`
 * at others, so greedy all-at-once decoding mixes them as coin flips would, where a preference shared by all the
 * positions of one candidate would pick it whole and hide the dependence.
 *
 * Training is LLaDA's SFT (the prompt is never masked). Its loss cannot reach 0: a row whose answer is wholly
 * masked leaves every position a coin flip ({@link choiceLossFloor} is the loss of the exact conditional).
 *
 * @module
 */

import type { Rng } from "../rng.ts";
import { MASK_EPS } from "../llada/forward_masking.ts";

/** The task's shape and token ids: mask 0, the answer separator `|` 1, the candidates' separator `;` 2, symbols 3…10. */
export const CHOICE = { length: 8, alphabet: 8, mask: 0, sep: 1, between: 2, firstSymbol: 3 } as const;

/** Tokens of a prompt `a ; b |`. */
export const CHOICE_PROMPT_LENGTH = 2 * CHOICE.length + 2;

/** Tokens of a whole row `a ; b | answer`. */
export const CHOICE_WIDTH = CHOICE_PROMPT_LENGTH + CHOICE.length;

/** Token ids of the task: its symbols and separators. */
export const CHOICE_VOCAB_SIZE = CHOICE.firstSymbol + CHOICE.alphabet;

/** One example: the two candidates and which one is the answer. */
export interface ChoiceExample {
  a: number[];
  b: number[];
  /** The answer: `a` or `b`. */
  answer: number[];
}

/**
 * Draws an example: `a` uniform over the symbols, each `bᵢ` uniform over the symbols other than `aᵢ`, the answer
 * `a` or `b` with probability ½.
 */
export function choiceExample(rng: Rng): ChoiceExample {
  const a = Array.from({ length: CHOICE.length }, () => CHOICE.firstSymbol + rng.int(0, CHOICE.alphabet - 1));
  // a draw from the alphabet less one, shifted past aᵢ: uniform over the other symbols
  const b = a.map((s) => {
    const k = CHOICE.firstSymbol + rng.int(0, CHOICE.alphabet - 2);
    return k >= s ? k + 1 : k;
  });
  return { a, b, answer: rng.uniform() < 0.5 ? a : b };
}

/** The prompt of an example: `a ; b |`. */
export function choicePrompt(e: ChoiceExample): number[] {
  return [...e.a, CHOICE.between, ...e.b, CHOICE.sep];
}

/** A whole training row: `a ; b | answer`. */
export function choiceRow(e: ChoiceExample): number[] {
  return [...choicePrompt(e), ...e.answer];
}

/** Exact match: the generated answer is one candidate entirely (either one); a mix of the two is wrong. */
export function choiceCorrect(e: ChoiceExample, answer: readonly number[]): boolean {
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
