/**
 * Trains the byte-level BPE tokenizer shipped in `models/brown-bpe/`: `bpe.ts`'s trainer on the Brown training
 * split (the 450 documents `llada train --corpus brown --seed 0` trains on), GPT-4's split pattern.
 *
 * ```bash
 * deno task bpe:brown                        # writes models/brown-bpe/tokenizer.json (vocabulary 2048)
 * deno task bpe:brown --sizes 1024,2048,4096 --out /tmp/bpe  # the sizing measurement, one file per size
 * ```
 *
 * Training is deterministic (ties broken by the smaller pair), so the command reproduces the committed file byte
 * for byte. For each size it prints, and with `--results FILE` writes as JSON, the training time and the
 * characters per token on the training and the held-out split.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { readCorpus } from "../src/train/corpus.ts";
import { splitTrainValid } from "../src/data/split.ts";
import { trainBpe } from "../src/tokenizer/bpe.ts";
import type { Tokenizer } from "../src/tokenizer/tokenizer.ts";
import { writeFileAtomic } from "../src/io/atomic.ts";

/** The shipped tokenizer's settings: the split seed and held-out fraction are `llada train`'s defaults. */
export const BROWN_BPE = { vocabSize: 2048, splitSeed: 0, validFraction: 0.1 } as const;

/** The Brown training and held-out documents, split as `llada train --corpus brown --seed 0` splits them. */
export async function brownSplit(): Promise<{ train: string[]; valid: string[] }> {
  const { docs } = await readCorpus({
    corpus: "brown",
    objective: "pretrain",
    splitSeed: BROWN_BPE.splitSeed,
  });
  return splitTrainValid(docs, { validFraction: BROWN_BPE.validFraction, seed: BROWN_BPE.splitSeed });
}

/** Characters (code points) per token of `texts` under `tokenizer`. */
export function charsPerToken(tokenizer: Tokenizer, texts: readonly string[]): number {
  let chars = 0;
  let tokens = 0;
  for (const t of texts) {
    chars += [...t].length;
    tokens += tokenizer.encode(t).length;
  }
  return chars / tokens;
}

/** One measured size. */
export interface BpeSizing {
  vocabSize: number;
  trainSeconds: number;
  trainCharsPerToken: number;
  validCharsPerToken: number;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      sizes: { type: "string", default: String(BROWN_BPE.vocabSize) },
      out: { type: "string", default: "models/brown-bpe" },
      results: { type: "string" },
    },
  });
  const sizes = values.sizes.split(",").map(Number);
  if (sizes.some((s) => !Number.isInteger(s) || s < 261)) {
    throw new Error(`--sizes must be a comma-separated list of integers ≥ 261, got ${values.sizes}`);
  }
  const { train, valid } = await brownSplit();
  const rows: BpeSizing[] = [];
  for (const vocabSize of sizes) {
    const t0 = performance.now();
    const tokenizer = trainBpe(train, { vocabSize });
    const trainSeconds = (performance.now() - t0) / 1000;
    const row = {
      vocabSize,
      trainSeconds,
      trainCharsPerToken: charsPerToken(tokenizer, train),
      validCharsPerToken: charsPerToken(tokenizer, valid),
    };
    rows.push(row);
    const dir = sizes.length === 1 ? values.out : `${values.out}/${vocabSize}`;
    await Deno.mkdir(dir, { recursive: true });
    await writeFileAtomic(`${dir}/tokenizer.json`, JSON.stringify(tokenizer.toJSON()));
    console.log(
      `vocabulary ${vocabSize}: trained in ${trainSeconds.toFixed(1)} s; ${
        row.trainCharsPerToken.toFixed(3)
      } ` +
        `chars/token on the training split, ${
          row.validCharsPerToken.toFixed(3)
        } held out; ${dir}/tokenizer.json`,
    );
  }
  if (values.results) await writeFileAtomic(values.results, JSON.stringify(rows, null, 2) + "\n");
}
