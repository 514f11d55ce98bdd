/**
 * Synthetic tasks generated in code: a copy task and reversal facts. Small, seeded, instant to make.
 *
 * - **Copy**: a random string, then the same string again (`"iebdg=" → "iebdg"`). A model that has learned it
 *   must carry information across the separator; a tiny model learns it in seconds, which makes it the
 *   integration test of training and sampling.
 * - **Reversal facts** (the "reversal curse" of Berglund et al. 2023, which the LLaDA paper's reversal-reasoning
 *   experiment studies): pairs of invented people, stated in both directions: `"Heve's parent is Medavo."` and
 *   `"Medavo's child is Heve."`. Train on the forward statements (and the backward ones of some pairs), test
 *   the backward statements of the others: an autoregressive model struggles, a masked diffusion model less so.
 *
 * Each item is a prompt and a response; the full sentence is `prompt + response`, so the same data serves
 * pre-training (pack the sentences) and SFT (pad the pairs).
 *
 * Left out on purpose: other synthetic tasks (arithmetic, sorting, …); add one here as a seeded function in the
 * same shape.
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

/** One invented parent–child pair, stated both ways. */
export interface ReversalFact {
  /** The child's name. */
  child: string;
  /** The parent's name. */
  parent: string;
  /** `"<child>'s parent is"` → `" <parent>."` */
  forward: TextPair;
  /** `"<parent>'s child is"` → `" <child>."` */
  backward: TextPair;
}

/** Options for {@link reversalFacts}. */
export interface ReversalFactsOptions {
  /** Number of parent–child pairs; every name is used once, so `2 · count` distinct names. At most 100,000. */
  count: number;
  /** Seed or generator (a generator is advanced). */
  seed: number | Rng;
}

const CONSONANTS = [..."bdfghklmnprstvz"];
const VOWELS = [..."aeiou"];

/** A capitalised name of two or three consonant–vowel syllables (`"Heve"`, `"Medavo"`). */
function inventName(rng: Rng): string {
  const syllables = rng.int(2, 3);
  let name = "";
  for (let i = 0; i < syllables; i++) {
    name += CONSONANTS[rng.int(0, CONSONANTS.length - 1)] + VOWELS[rng.int(0, VOWELS.length - 1)];
  }
  return name[0].toUpperCase() + name.slice(1);
}

/**
 * Parent–child facts among invented people, each in both directions (see the module documentation).
 * All `2 · count` names are distinct, so no fact can be inferred from another.
 */
export function reversalFacts(options: ReversalFactsOptions): ReversalFact[] {
  const { count } = options;
  // 75² + 75³ ≈ 430,000 possible names; keep well below so drawing distinct ones stays fast.
  if (!Number.isInteger(count) || count < 0 || count > 100_000) {
    throw new Error(`reversalFacts: count must be an integer in [0, 100000], got ${count}`);
  }
  const rng = toRng(options.seed);
  const used = new Set<string>();
  const fresh = () => {
    let name = inventName(rng);
    while (used.has(name)) name = inventName(rng);
    used.add(name);
    return name;
  };
  const out: ReversalFact[] = [];
  for (let i = 0; i < count; i++) {
    const child = fresh();
    const parent = fresh();
    out.push({
      child,
      parent,
      forward: { prompt: `${child}'s parent is`, response: ` ${parent}.` },
      backward: { prompt: `${parent}'s child is`, response: ` ${child}.` },
    });
  }
  return out;
}
