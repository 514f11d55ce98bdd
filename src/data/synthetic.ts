/**
 * A synthetic task generated in code: the copy task. Small, seeded, instant to make.
 *
 * - **Copy**: a random string, then the same string again (`"iebdg=" → "iebdg"`). A model that has learned it
 *   must carry information across the separator; a tiny model learns it in seconds, which makes it the
 *   integration test of training and sampling.
 *
 * Each item is a prompt and a response; the full sentence is `prompt + response`, so the same data serves
 * pre-training (pack the sentences) and SFT (pad the pairs).
 *
 * The invented facts of the reversal experiment are in `reversal.ts`, with the protocol they serve. Left out on
 * purpose: other synthetic tasks (arithmetic, sorting, …); add one here as a seeded function in the same shape.
 *
 * @module
 */

import { type Rng, toRng } from "../rng.ts";

/** A prompt and the response that completes it; the whole example is `prompt + response`. */
export interface TextPair {
  /** What the model is given. */
  prompt: string;
  /** What it should produce. */
  response: string;
}

/** Options for {@link copyTask}. */
export interface CopyTaskOptions {
  /** Number of examples. */
  count: number;
  /** Characters in each string to copy. */
  length: number;
  /** Characters to draw from (each code point one symbol). Default `"abcdefghij"`. */
  alphabet?: string;
  /** Written between the string and its copy, at the end of the prompt. Default `"="`. */
  separator?: string;
  /** Seed or generator (a generator is advanced). */
  seed: number | Rng;
}

/**
 * Copy-task examples: prompt `s + separator`, response `s`, with `s` drawn uniformly from `alphabet^length`.
 *
 * @example
 * copyTask({ count: 2, length: 5, seed: 0 }); // [{ prompt: "iebdg=", response: "iebdg" }, { prompt: "fcgbf=", … }]
 */
export function copyTask(options: CopyTaskOptions): TextPair[] {
  const { count, length, alphabet = "abcdefghij", separator = "=" } = options;
  const symbols = [...alphabet];
  if (symbols.length === 0) throw new Error("copyTask: the alphabet is empty");
  if (!Number.isInteger(count) || count < 0 || !Number.isInteger(length) || length < 1) {
    throw new Error(
      `copyTask: expected integers count >= 0 and length >= 1, got count=${count}, length=${length}`,
    );
  }
  const rng = toRng(options.seed);
  const out: TextPair[] = [];
  for (let i = 0; i < count; i++) {
    let s = "";
    for (let j = 0; j < length; j++) s += symbols[rng.int(0, symbols.length - 1)];
    out.push({ prompt: s + separator, response: s });
  }
  return out;
}
