/**
 * The data of the reversal experiment (the LLaDA paper's reversal-reasoning study, Table 4): facts made of two
 * halves, pre-trained forward only, instruction-tuned both ways on some, tested both ways on the others.
 *
 * ```
 * pairs      (first, second): a couplet's two lines, or a name and what it stands for
 * pre-train  every item written forward, whole: the poem that holds the couplet, or "Heve is the potter of Tarosa."
 * tune       a subset, both directions, as chat pairs:  "the line after A" → B,  "the line before B" → A
 * test       the other pairs (seen in pre-training, never in tuning), both directions
 * ```
 *
 * A model that only learned "first → second" in pre-training can answer the forward test questions; the reversal
 * questions ask for what came *before*, which an autoregressive model never had to predict from what came after.
 *
 * Two sources:
 * - {@link syntheticReversalTask}: invented people and invented attributes (`"Heve" ↔ "the potter of Tarosa"`), all
 *   distinct, so no fact can be inferred from another;
 * - {@link poemReversalTask}: couplets of Tang poems (npm `chinese-poetry`, converted to simplified characters with
 *   npm `opencc-js` so that published simplified test pairs match), optionally the test couplets of a file in the
 *   official format ({@link parseReversalPairs}).
 *
 * @module
 */

import { InputError } from "../errors.ts";
import { type Rng, toRng } from "../rng.ts";
import type { TextPair } from "./synthetic.ts";
import { loadTangPoems } from "./tang.ts";

/** One fact: its two halves, and where it comes from (the format of the official LLaDA reversal data). */
export interface ReversalPair {
  /** The first half (a couplet's first line, a name). */
  first: string;
  /** The second half (the next line, the attribute). */
  second: string;
  /** Where the pair comes from (a poem's title, `"synthetic"`). */
  source: string;
}

/** The two questions asked of a pair. */
export interface ReversalQuestions {
  /** The question whose answer is `second`. */
  forward(first: string): string;
  /** The question whose answer is `first`. */
  reversal(second: string): string;
}

/** A whole experiment's data: what is pre-trained, tuned and tested. */
export interface ReversalTask {
  /** Pre-training documents, each item written forward, whole. */
  documents: string[];
  /** Pairs instruction-tuned in both directions. */
  tune: ReversalPair[];
  /** Pairs tested in both directions: in the documents, not in {@link tune}. */
  test: ReversalPair[];
  /** How a pair becomes questions. */
  questions: ReversalQuestions;
  /** One line on what the task holds. */
  description: string;
}

/** One test question and the answer it expects. */
export interface ReversalQuestion {
  /** Which way the question asks. */
  direction: "forward" | "reversal";
  /** The user's message. */
  prompt: string;
  /** The half that should be answered. */
  expected: string;
}

/** The tuning chat pairs of a task: each tuning pair asked both ways. */
export function tuningPairs(task: ReversalTask): TextPair[] {
  return task.tune.flatMap((p) => [
    { prompt: task.questions.forward(p.first), response: p.second },
    { prompt: task.questions.reversal(p.second), response: p.first },
  ]);
}

/** The test questions of a task: every test pair asked forward, then every one asked in reverse. */
export function testQuestions(task: ReversalTask): ReversalQuestion[] {
  const { questions, test } = task;
  return [
    ...test.map((p) => ({
      direction: "forward" as const,
      prompt: questions.forward(p.first),
      expected: p.second,
    })),
    ...test.map((p) => ({
      direction: "reversal" as const,
      prompt: questions.reversal(p.second),
      expected: p.first,
    })),
  ];
}

/**
 * The synthetic task's questions: the statement with one half left out (`"Heve is"` → `"the judge of Dero"`,
 * `"is the judge of Dero."` → `"Heve"`). They are worded as close to the pre-training text as a question can be,
 * so that a model this small can learn from a few dozen tuning pairs to read its memorised facts out at all; both
 * directions are worded alike.
 */
export const SYNTHETIC_QUESTIONS: ReversalQuestions = {
  forward: (name) => `${name} is`,
  reversal: (attribute) => `is ${attribute}.`,
};

/** Options of {@link syntheticReversalTask}. */
export interface SyntheticReversalOptions {
  /** Facts in all (tuned and tested). */
  count: number;
  /** Facts held out from tuning and tested. */
  testCount: number;
  /** Seed of the invented facts and of which are tested. */
  seed: number | Rng;
}

const CONSONANTS = [..."bdfghklmnprstvz"];
const VOWELS = [..."aeiou"];
const TRADES = ["potter", "baker", "mayor", "singer", "healer", "smith", "weaver", "judge"];

/** A capitalised word of two or three consonant–vowel syllables (`"Heve"`, `"Medavo"`). */
function inventWord(rng: Rng): string {
  const syllables = rng.int(2, 3);
  let word = "";
  for (let i = 0; i < syllables; i++) {
    word += CONSONANTS[rng.int(0, CONSONANTS.length - 1)] + VOWELS[rng.int(0, VOWELS.length - 1)];
  }
  return word[0].toUpperCase() + word.slice(1);
}

/**
 * Invented facts `"<name> is the <trade> of <town>."`: every name and every town used once, so each half names
 * exactly one fact. The pair is (name, `"the <trade> of <town>"`).
 *
 * @example
 * syntheticReversalPairs(1, 0); // [{ first: "Heve", second: "the judge of Betuzi", source: "synthetic" }]
 */
export function syntheticReversalPairs(count: number, seed: number | Rng): ReversalPair[] {
  // 75² + 75³ ≈ 430,000 possible words; keep well below so drawing distinct ones stays fast.
  if (!Number.isInteger(count) || count < 1 || count > 50_000) {
    throw new Error(`syntheticReversalPairs: count must be an integer in [1, 50000], got ${count}`);
  }
  const rng = toRng(seed);
  const used = new Set<string>();
  const fresh = () => {
    let word = inventWord(rng);
    while (used.has(word)) word = inventWord(rng);
    used.add(word);
    return word;
  };
  return Array.from({ length: count }, () => {
    const first = fresh();
    const second = `the ${TRADES[rng.int(0, TRADES.length - 1)]} of ${fresh()}`;
    return { first, second, source: "synthetic" };
  });
}

/** Invented facts (see {@link syntheticReversalPairs}), `testCount` of them held out from tuning at random. */
export function syntheticReversalTask(options: SyntheticReversalOptions): ReversalTask {
  const { count, testCount } = options;
  if (!Number.isInteger(testCount) || testCount < 1 || testCount >= count) {
    throw new Error(
      `syntheticReversalTask: testCount must be an integer in [1, ${count - 1}], got ${testCount}`,
    );
  }
  const rng = toRng(options.seed);
  const pairs = syntheticReversalPairs(count, rng);
  const tested = new Set(rng.permutation(count).subarray(0, testCount));
  return {
    documents: pairs.map((p) => `${p.first} is ${p.second}.`),
    tune: pairs.filter((_, i) => !tested.has(i)),
    test: pairs.filter((_, i) => tested.has(i)),
    questions: SYNTHETIC_QUESTIONS,
    description: `synthetic: ${count} invented facts, ${count - testCount} tuned, ${testCount} tested`,
  };
}

/**
 * Reads test pairs in the official format: a JSON list of `{"first", "second", "source"}` objects (`source` may be
 * missing). Punctuation around the lines is kept as given; {@link poemReversalTask} matches lines without it.
 *
 * @param json the file's text.
 * @param file the file's name, for error messages.
 * @throws InputError naming the file and the first bad entry.
 */
export function parseReversalPairs(json: string, file: string): ReversalPair[] {
  const fix = `give a JSON list of {"first": "…", "second": "…", "source": "…"} objects`;
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (e) {
    throw new InputError(`--pairs ${file}`, `is not JSON (${(e as Error).message})`, fix);
  }
  if (!Array.isArray(data)) throw new InputError(`--pairs ${file}`, "is not a JSON list", fix);
  if (data.length === 0) throw new InputError(`--pairs ${file}`, "is an empty list", fix);
  return data.map((entry, i) => {
    const e = entry as Record<string, unknown>;
    const where = `--pairs ${file}, entry ${i}`;
    if (entry === null || typeof entry !== "object" || Array.isArray(entry)) {
      throw new InputError(where, `is ${JSON.stringify(entry)}, not an object`, fix);
    }
    for (const key of ["first", "second"]) {
      if (typeof e[key] !== "string" || (e[key] as string).trim() === "") {
        throw new InputError(where, `has no non-empty string "${key}"`, fix);
      }
    }
    if (e.source !== undefined && typeof e.source !== "string") {
      throw new InputError(where, `has a "source" that is not a string`, fix);
    }
    return { first: e.first as string, second: e.second as string, source: (e.source as string) ?? "" };
  });
}

/** The poem task's questions ("what is the line after A?", "what is the line before B?"). */
export const POEM_QUESTIONS: ReversalQuestions = {
  forward: (first) => `${first}的下一句是什么？`,
  reversal: (second) => `${second}的上一句是什么？`,
};

/** Options of {@link poemReversalTask}. */
export interface PoemReversalOptions {
  /** The test couplets (e.g. from {@link parseReversalPairs}); default: `testCount` couplets drawn from the corpus. */
  pairs?: readonly ReversalPair[];
  /** Couplets drawn from the corpus when no `pairs` are given. */
  testCount: number;
  /** Poems pre-trained beside those holding a test couplet; their couplets are the tuning set. */
  otherPoems: number;
  /** Seed of the poems drawn. */
  seed: number;
}

/** Traditional → simplified characters (npm `opencc-js`, fetched on first use like `chinese-poetry`). */
async function simplifier(): Promise<(text: string) => string> {
  // Built at run time so that static analysis (type checks, the demo's module graph, its lockfile) skips it.
  const specifier = ["npm:opencc-js@1.4.2"].join("");
  let opencc: { Converter: (o: { from: string; to: string }) => (text: string) => string };
  try {
    opencc = await import(specifier);
  } catch (e) {
    throw new Error(
      `the poems preset needs the npm package opencc-js@1.4.2, which could not be fetched ` +
        `(${(e as Error).message}); check the connection to the npm registry and run again`,
    );
  }
  return opencc.Converter({ from: "t", to: "cn" });
}

/** A line without its punctuation and spaces, for matching a published couplet against the corpus. */
function bare(line: string): string {
  return line.replace(/[\s\p{P}]/gu, "");
}

/**
 * Couplets of Tang poems in simplified characters. Pre-training reads every poem that holds a test couplet, whole
 * and forward, plus `otherPoems` other poems drawn with the seed; tuning asks every couplet of those other poems
 * both ways. A given test couplet that no poem holds is pre-trained as a poem of its own (the description counts
 * them), so any published list can be evaluated.
 */
export async function poemReversalTask(options: PoemReversalOptions): Promise<ReversalTask> {
  const toSimplified = await simplifier();
  const poems = (await loadTangPoems()).map((p) => ({
    title: toSimplified(p.title),
    lines: p.lines.map(toSimplified),
    text: toSimplified(p.text),
  }));
  const rng = toRng(options.seed);
  const order = rng.permutation(poems.length);
  let test: ReversalPair[];
  if (options.pairs) {
    test = options.pairs.map((p) => ({ ...p, first: bare(p.first), second: bare(p.second) }));
  } else {
    test = Array.from(order.subarray(0, options.testCount), (i) => {
      const poem = poems[i];
      const c = 2 * rng.int(0, poem.lines.length / 2 - 1);
      return { first: poem.lines[c], second: poem.lines[c + 1], source: poem.title };
    });
  }
  const wanted = new Set(test.map((p) => `${p.first}|${p.second}`));
  const found = new Set<string>();
  const holding: number[] = [];
  poems.forEach((poem, i) => {
    let holds = false;
    for (let c = 0; c + 1 < poem.lines.length; c += 2) {
      const key = `${poem.lines[c]}|${poem.lines[c + 1]}`;
      if (wanted.has(key)) {
        holds = true;
        found.add(key);
      }
    }
    if (holds) holding.push(i);
  });
  const held = new Set(holding);
  const others = Array.from(order).filter((i) => !held.has(i)).slice(0, options.otherPoems);
  const missing = test.filter((p) => !found.has(`${p.first}|${p.second}`));
  const documents = [
    ...holding.map((i) => poems[i].text),
    ...missing.map((p) => `${p.first}，${p.second}。`),
    ...others.map((i) => poems[i].text),
  ].map((text) => text + "\n");
  const tune = others.flatMap((i) => {
    const poem = poems[i];
    const pairs: ReversalPair[] = [];
    for (let c = 0; c + 1 < poem.lines.length; c += 2) {
      pairs.push({ first: poem.lines[c], second: poem.lines[c + 1], source: poem.title });
    }
    return pairs;
  });
  return {
    documents,
    tune,
    test,
    questions: POEM_QUESTIONS,
    description:
      `poems: ${test.length} test couplets (${test.length - missing.length} found in ${holding.length} ` +
      `poems, ${missing.length} not in the corpus and pre-trained alone), ${others.length} other poems whose ` +
      `${tune.length} couplets are tuned`,
  };
}
