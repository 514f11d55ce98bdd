/**
 * Measures the shipped Brown models once they are trained, and writes what a reader of them needs: each folder's
 * `generation_config.json` (the sampling settings that read best, chosen by measurement), its model card
 * (`README.md`), and `docs/results/shipped_models.{json,md}`.
 *
 * ```bash
 * deno task report:shipped                       # models/brown-mdm and models/brown-arm
 * deno task report:shipped --prompts 4 --quick   # a smaller grid (for trying it out; the cards say so)
 * ```
 *
 * What it measures, all on the held-out Brown documents of the split both models were trained with (seed 0):
 *
 * - **Held-out figures**: the mask predictor's upper bound (Eq. 4, 16 mask samples per window, seed 0) and the
 *   twin's exact NLL, in bits per character with standard errors, on the same windows and characters, and their
 *   ratio — exactly what `llada eval --model models/brown-mdm --compare models/brown-arm --heldout brown` prints.
 * - **Readability**: `prompts` prompts, each the first words of a held-out sentence (chosen with seed 0), are
 *   continued by every cell of a small grid of sampler settings per model. A cell's *word validity* is the share
 *   of the generated whole words (maximal runs of letters, without a word cut by the prompt's end or the
 *   generation's end) that occur somewhere in the Brown corpus. Greedy decoding of a small model can repeat itself
 *   in perfectly valid words, so a cell only qualifies when its samples' token entropy is at least
 *   {@link ENTROPY_FLOOR} of the entropy of the held-out text's own continuations of the same prompts, over the
 *   same number of tokens; the qualifying cell with the highest word validity becomes the model's
 *   `generation_config.json`.
 *
 * Each model card then states the exact training command, the seed, the steps and tokens seen, the wall time of
 * every training sitting and their sum (`training_sittings.jsonl`, written by `train_shipped.ts`), the sizing
 * runs the recipe was chosen from (`docs/results/shipped_model_sizing.json`), and these measurements.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { loadBrown } from "../src/data/brown.ts";
import { heldOutDocuments } from "../src/train/corpus.ts";
import { generate, type Remasking } from "../src/llada/reverse_sampling.ts";
import { generateAutoregressive } from "../src/llada/autoregressive_sampling.ts";
import { type GenerationConfig, loadPretrained, type Pretrained } from "../src/pretrained.ts";
import { heldOutEstimate, makeEvalSet } from "../src/train/eval.ts";
import { innerWords, tokenEntropy, words } from "../src/experiments/sampling_lab.ts";
import { Rng } from "../src/rng.ts";
import { writeFileAtomic } from "../src/io/atomic.ts";
import { readSittings, type ShippedRecipe, type Sitting } from "./train_shipped.ts";

/** A cell must keep this share of the held-out continuations' token entropy to count as readable text. */
export const ENTROPY_FLOOR = 0.8;

/** Tokens generated per prompt. */
export const GEN_LENGTH = 64;

/** One sampler setting of the readability grid. */
export interface GridCell {
  /** `mdm` (the reverse process) or `arm` (left to right). */
  model: "mdm" | "arm";
  steps: number | null;
  block_length: number | null;
  temperature: number;
  remasking: Remasking | null;
}

/** A cell's measurements. */
export interface CellResult extends GridCell {
  /** Share of generated whole words that occur in the Brown corpus. */
  word_validity: number;
  /** Whole words counted. */
  words: number;
  /** Mean over prompts of the generated tokens' entropy, bits. */
  entropy: number;
  /** Whether the entropy reaches {@link ENTROPY_FLOOR} of the reference. */
  qualifies: boolean;
  /** Network evaluations for the whole batch of prompts. */
  nfe: number;
  /** The first three prompts' continuations, for the card. */
  examples: string[];
}

/** The grid: the official sampler's setting and its neighbours for the mask predictor; greedy and sampled twin. */
export function readabilityGrid(quick: boolean): GridCell[] {
  const mdm = (steps: number, block: number, temperature: number, remasking: Remasking): GridCell => ({
    model: "mdm",
    steps,
    block_length: block,
    temperature,
    remasking,
  });
  const arm = (temperature: number): GridCell => ({
    model: "arm",
    steps: null,
    block_length: null,
    temperature,
    remasking: null,
  });
  if (quick) {
    return [
      mdm(GEN_LENGTH, GEN_LENGTH, 0, "low_confidence"),
      mdm(GEN_LENGTH, 16, 0, "low_confidence"),
      arm(0),
    ];
  }
  return [
    mdm(GEN_LENGTH, GEN_LENGTH, 0, "low_confidence"),
    mdm(GEN_LENGTH, 16, 0, "low_confidence"),
    mdm(GEN_LENGTH, 8, 0, "low_confidence"),
    mdm(GEN_LENGTH / 2, 16, 0, "low_confidence"),
    mdm(GEN_LENGTH, 16, 0.7, "low_confidence"),
    mdm(GEN_LENGTH, 8, 0.7, "low_confidence"),
    mdm(GEN_LENGTH, 16, 1, "random"),
    arm(0),
    arm(0.7),
    arm(1),
  ];
}

/** A prompt drawn from a held-out sentence, and the held-out text that follows it. */
export interface HeldOutPrompt {
  prompt: string;
  continuation: string;
}

/**
 * `count` prompts: for each, a held-out document and in it a sentence of at least 12 words (chosen with `seed`),
 * cut after its first 6 words; the continuation is the document's text after the prompt.
 */
export function heldOutPrompts(docs: readonly string[], count: number, seed: number): HeldOutPrompt[] {
  const rng = new Rng(seed);
  const out: HeldOutPrompt[] = [];
  for (let tries = 0; out.length < count; tries++) {
    if (tries > count * 100) {
      throw new Error(`found only ${out.length} of ${count} prompts in the held-out text`);
    }
    const doc = docs[rng.int(0, docs.length - 1)];
    const starts = [...doc.matchAll(/(?:^|[.!?]\s+)([A-Z][^.!?\n]{40,})/g)];
    if (starts.length === 0) continue;
    const m = starts[rng.int(0, starts.length - 1)];
    const sentenceAt = m.index! + m[0].length - m[1].length;
    const sentence = m[1];
    const sixWords = sentence.match(/^(\S+\s+){5}\S+/);
    if (!sixWords || sentence.split(/\s+/).length < 12) continue;
    const prompt = sixWords[0];
    if (out.some((p) => p.prompt === prompt)) continue;
    out.push({ prompt, continuation: doc.slice(sentenceAt + prompt.length) });
  }
  return out;
}

/** Every word of the Brown corpus, lower-cased. */
export async function brownVocabulary(): Promise<Set<string>> {
  const vocab = new Set<string>();
  for (const d of await loadBrown()) for (const w of words(d.text)) vocab.add(w);
  return vocab;
}

/** The held-out documents of the shipped models' split (Brown, split seed 0, as their training made it). */
export function heldOutDocs(): Promise<string[]> {
  return heldOutDocuments({ corpus: "brown", splitSeed: 0 });
}

/**
 * Continues every prompt with `cell`'s settings on the model (one batch, seed 0) and scores the continuations.
 *
 * @param referenceEntropy the mean token entropy of the held-out continuations over {@link GEN_LENGTH} tokens.
 */
export async function measureCell(
  cell: GridCell,
  pretrained: Pretrained,
  prompts: readonly HeldOutPrompt[],
  vocabulary: ReadonlySet<string>,
  referenceEntropy: number,
): Promise<CellResult> {
  const { model, tokenizer } = pretrained;
  const ids = prompts.map((p) => tokenizer.encode(p.prompt));
  const { tokens, nfe } = cell.model === "arm"
    ? await generateAutoregressive(model, ids, {
      genLength: GEN_LENGTH,
      temperature: cell.temperature,
      maskId: tokenizer.maskId,
      padId: tokenizer.padId,
      eosId: tokenizer.eosId,
      seed: 0,
    })
    : await generate(model, ids, {
      genLength: GEN_LENGTH,
      steps: cell.steps!,
      blockLength: cell.block_length!,
      temperature: cell.temperature,
      remasking: cell.remasking!,
      maskId: tokenizer.maskId,
      eosId: tokenizer.eosId,
      padId: tokenizer.padId,
      seed: 0,
    });
  let valid = 0;
  let total = 0;
  let entropy = 0;
  const examples: string[] = [];
  tokens.forEach((row, i) => {
    const answer = row.slice(row.length - GEN_LENGTH);
    const end = answer.indexOf(tokenizer.eosId);
    const kept = end < 0 ? answer : answer.slice(0, end);
    const text = tokenizer.decode(kept, { skipSpecial: true });
    const ws = innerWords(prompts[i].prompt, text);
    valid += ws.filter((w) => vocabulary.has(w)).length;
    total += ws.length;
    entropy += tokenEntropy(answer) ?? 0;
    if (i < 3) examples.push(text);
  });
  entropy /= tokens.length;
  return {
    ...cell,
    word_validity: total === 0 ? 0 : round(valid / total, 4),
    words: total,
    entropy: round(entropy, 4),
    qualifies: entropy >= ENTROPY_FLOOR * referenceEntropy,
    nfe,
    examples,
  };
}

/** The held-out continuations' mean token entropy over {@link GEN_LENGTH} tokens: what a readable cell keeps. */
export function referenceEntropy(pretrained: Pretrained, prompts: readonly HeldOutPrompt[]): number {
  const hs = prompts.map((p) =>
    tokenEntropy(pretrained.tokenizer.encode(p.continuation).slice(0, GEN_LENGTH)) ?? 0
  );
  return round(hs.reduce((a, b) => a + b, 0) / hs.length, 4);
}

/** The qualifying cell with the highest word validity (the first such on ties); null when none qualifies. */
export function bestCell(cells: readonly CellResult[]): CellResult | null {
  let best: CellResult | null = null;
  for (const c of cells) if (c.qualifies && (best === null || c.word_validity > best.word_validity)) best = c;
  return best;
}

/** A cell as `generation_config.json` (llada-ts's sampler option names in snake case). */
export function generationConfigOf(cell: GridCell): GenerationConfig {
  if (cell.model === "arm") return { gen_length: GEN_LENGTH, temperature: cell.temperature, seed: 0 };
  return {
    gen_length: GEN_LENGTH,
    steps: cell.steps!,
    block_length: cell.block_length!,
    temperature: cell.temperature,
    remasking: cell.remasking!,
    seed: 0,
  };
}

/** The held-out figures of both models on the same windows: what `llada eval --compare --heldout brown` prints. */
export async function heldOutFigures(mdm: Pretrained, arm: Pretrained, docs: readonly string[], count = 64) {
  const length = mdm.model.config.max_sequence_length;
  const set = makeEvalSet(docs, mdm.tokenizer, { length, count });
  const bound = await heldOutEstimate(mdm.model, set, { mcSamples: 16, seed: 0 });
  const nll = await heldOutEstimate(arm.model, set, { mcSamples: 16, seed: 0 });
  return {
    command: "deno task llada eval --model models/brown-mdm --compare models/brown-arm --heldout brown" +
      (count === 64 ? "" : ` --max-seqs ${count}`),
    backend: mdm.backend.name,
    sequences: set.sequences.length,
    sequence_length: length,
    characters: set.charCount,
    mdm_bound_bits_per_char: round(bound.bitsPerChar, 4),
    mdm_std_err: round(bound.stdErr, 4),
    arm_nll_bits_per_char: round(nll.bitsPerChar, 4),
    arm_std_err: round(nll.stdErr, 4),
    ratio: round(bound.bitsPerChar / nll.bitsPerChar, 4),
  };
}

/** How a model was trained, read from its folder (`training_metrics.jsonl`, `training_sittings.jsonl`). */
export interface TrainingRecord {
  steps: number;
  tokens: number;
  sittings: Sitting[];
  trainingSeconds: number;
  finalLoss: number;
  lastEval: number | null;
}

/** Reads a model folder's training record; `recipe` gives the tokens of a step. */
export async function trainingRecord(dir: string, recipe: Pick<ShippedRecipe, "batch" | "seqLen">) {
  const lines = (await Deno.readTextFile(`${dir}/training_metrics.jsonl`)).trim().split("\n").map((l) =>
    JSON.parse(l)
  );
  const sittings = await readSittings(`${dir}/training_sittings.jsonl`);
  if (sittings.length === 0) throw new Error(`${dir}/training_sittings.jsonl: no training sittings recorded`);
  const last = lines.at(-1);
  const evals = lines.filter((l) => typeof l.eval_bpc === "number");
  const steps = last.step as number;
  return {
    steps,
    tokens: steps * recipe.batch * recipe.seqLen,
    sittings,
    trainingSeconds: round(sittings.reduce((n, s) => n + s.trainingSeconds, 0), 1),
    finalLoss: round(last.loss, 4),
    lastEval: evals.length ? round(evals.at(-1).eval_bpc, 4) : null,
  } satisfies TrainingRecord;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Seconds as `2 h 41 min`. */
export function hoursMinutes(seconds: number): string {
  const m = Math.round(seconds / 60);
  return m >= 60 ? `${Math.floor(m / 60)} h ${m % 60} min` : `${m} min`;
}

/** Everything the report measured: `docs/results/shipped_models.json`. */
export interface ShippedReport {
  command: string;
  prompts: HeldOutPrompt[];
  reference_entropy: number;
  entropy_floor: number;
  held_out: Awaited<ReturnType<typeof heldOutFigures>>;
  cells: CellResult[];
  chosen: { mdm: CellResult | null; arm: CellResult | null };
  training: { mdm: TrainingRecord; arm: TrainingRecord };
  /** Each model's parameter count. */
  parameters: { mdm: number; arm: number };
}

/** A Markdown table of the grid. */
function gridTable(cells: readonly CellResult[]): string {
  const rows = cells.map((c) =>
    `| ${c.model} | ${c.steps ?? "—"} | ${c.block_length ?? "—"} | ${c.temperature} | ${
      c.remasking ?? "—"
    } | ` +
    `${(100 * c.word_validity).toFixed(1)} % | ${c.words} | ${c.entropy.toFixed(2)} | ${
      c.qualifies ? "yes" : "no"
    } | ${c.nfe} |`
  );
  return [
    "| model | steps | block | temperature | remasking | word validity | words | entropy, bits | qualifies | NFE |",
    "|---|---|---|---|---|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}

/** The model card of one of the two models. */
export function modelCard(which: "mdm" | "arm", report: ShippedReport, recipe: ShippedRecipe): string {
  const t = report.training[which];
  const h = report.held_out;
  const chosen = report.chosen[which];
  const mdm = which === "mdm";
  const title = mdm
    ? "brown-mdm: a mask predictor of the Brown corpus"
    : "brown-arm: the autoregressive twin of brown-mdm";
  const sittingRows = t.sittings.map((s, i) =>
    `| ${i + 1} | ${
      s.began ?? "(recorded from the checkpoint)"
    } | ${s.ended} | ${s.fromStep} → ${s.toStep} | ` +
    `${hoursMinutes(s.trainingSeconds)} | ${s.loadBegan ?? "—"} → ${s.loadEnded ?? "—"} |`
  );
  const figure = mdm
    ? `upper bound on the negative log-likelihood (Eq. 4): **${h.mdm_bound_bits_per_char} ± ${h.mdm_std_err} bits/char**`
    : `exact negative log-likelihood: **${h.arm_nll_bits_per_char} ± ${h.arm_std_err} bits/char**`;
  return `# ${title}

${
    mdm
      ? "LLaDA's mask predictor (bidirectional attention, trained with the pre-training objective of Algorithm 1)"
      : "The same blocks as `models/brown-mdm` with causal attention, trained with the next-token objective"
  } on the training split of the Brown corpus (450 documents; 50 held out, split seed 0), with the byte-level BPE
tokenizer of \`models/brown-bpe\` (2,048 ids). Written by \`scripts/shipped_report.ts\` (\`${report.command}\`) from
the files beside it; every figure below was measured by that script or by the training run.

## Files

\`config.json\` and \`model.safetensors\` in the official LLaDA layout (\`config.json\` records
\`"llada_ts_objective": "${mdm ? "mask_predictor" : "autoregressive"}"\`, which the official loader ignores),
\`tokenizer.json\`, \`generation_config.json\` (the sampling defaults chosen below), \`training_metrics.jsonl\`,
\`training_sittings.jsonl\`.

## Training

- Command: \`deno task train:shipped --model ${which}\` (resumed with \`--resume\` after each interruption).
- Network: d_model ${recipe.dModel}, ${recipe.layers} layers, ${recipe.heads} heads, MLP ${recipe.mlp}, context ${recipe.seqLen}.
- Batch ${recipe.batch} rows × ${recipe.seqLen} tokens, peak learning rate ${recipe.lr}, warmup-stable-decay, seed ${recipe.seed}.
- Steps: ${t.steps.toLocaleString("en-US")}; tokens seen: ${
    t.tokens.toLocaleString("en-US")
  }; final training loss ${t.finalLoss}${
    t.lastEval === null ? "" : `; last held-out evaluation during training ${t.lastEval} bits/char`
  }.
- ${
    mdm
      ? `Wall-clock budget: ${hoursMinutes(recipe.budgetSeconds)} planned, hard limit ${
        hoursMinutes(recipe.limitSeconds)
      }; the run re-planned its steps from its measured speed.`
      : "Plan: the mask predictor's final steps, warmup and decay, so both saw the same tokens in the same order."
  }
- Wall time of training (evaluations and checkpoints included), summed over ${t.sittings.length} sitting(s): **${
    hoursMinutes(t.trainingSeconds)
  }**.

| sitting | began | ended | steps | training time | load average |
|---|---|---|---|---|---|
${sittingRows.join("\n")}

The recipe was chosen from the sizing runs in \`docs/results/shipped_model_sizing.md\`.

## Held-out figures

On ${h.sequences} windows of ${h.sequence_length} tokens (${
    h.characters.toLocaleString("en-US")
  } characters) of the
held-out documents, backend ${h.backend}: ${figure}.

| model | measure | bits/char | std. err. |
|---|---|---|---|
| brown-mdm | upper bound (Eq. 4, 16 mask samples, seed 0) | ${h.mdm_bound_bits_per_char} | ${h.mdm_std_err} |
| brown-arm | exact NLL | ${h.arm_nll_bits_per_char} | ${h.arm_std_err} |

Ratio bound / NLL: **${h.ratio}**. Reproduce with \`${h.command}\`.

## Sampling defaults

${report.prompts.length} prompts (the first six words of held-out sentences, seed 0), ${GEN_LENGTH} tokens each.
Word validity is the share of generated whole words that occur in the Brown corpus; a setting qualifies when the
entropy of its tokens is at least ${report.entropy_floor} × that of the held-out continuations
(${report.reference_entropy} bits). ${
    chosen
      ? `Chosen for \`generation_config.json\`: ${
        chosen.model === "arm"
          ? `temperature ${chosen.temperature}`
          : `${chosen.steps} steps, block length ${chosen.block_length}, temperature ${chosen.temperature}, ${chosen.remasking} remasking`
      } — word validity **${(100 * chosen.word_validity).toFixed(1)} %**.`
      : "No setting qualified; `generation_config.json` keeps the official defaults."
  }

${gridTable(report.cells.filter((c) => c.model === which))}

${
    chosen
      ? `With these settings:\n\n${
        chosen.examples.map((e, i) => `- *${report.prompts[i].prompt}* ${e.replaceAll("\n", " ")}`).join("\n")
      }\n`
      : ""
  }
## Limitations

A model of ${
    report.parameters[which].toLocaleString("en-US")
  } parameters trained on the Brown corpus, American
English printed in 1961: how much of what it writes is real words is the word validity above; it does not keep
a paragraph coherent, and it knows nothing after 1961.
`;
}

/** `docs/results/shipped_models.md`. */
export function resultsMarkdown(report: ShippedReport): string {
  const h = report.held_out;
  return `# The shipped models, measured

Written by \`scripts/shipped_report.ts\` (\`${report.command}\`); the numbers are in \`shipped_models.json\`.

| model | measure | bits/char | std. err. | steps | tokens | training time |
|---|---|---|---|---|---|---|
| brown-mdm | upper bound (Eq. 4) | ${h.mdm_bound_bits_per_char} | ${h.mdm_std_err} | ${report.training.mdm.steps} | ${report.training.mdm.tokens} | ${
    hoursMinutes(report.training.mdm.trainingSeconds)
  } |
| brown-arm | exact NLL | ${h.arm_nll_bits_per_char} | ${h.arm_std_err} | ${report.training.arm.steps} | ${report.training.arm.tokens} | ${
    hoursMinutes(report.training.arm.trainingSeconds)
  } |

Ratio bound / NLL: ${h.ratio} (${h.sequences} windows of ${h.sequence_length} tokens, ${h.characters} characters,
backend ${h.backend}; \`${h.command}\`). The paper's Figure 3 and Nie et al. (2024) compare the same two figures:
the bound is an upper bound on the mask predictor's NLL, so the ratio overstates its gap to the twin.

## Readability (${report.prompts.length} held-out prompts, ${GEN_LENGTH} tokens each)

${gridTable(report.cells)}
`;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      mdm: { type: "string", default: "models/brown-mdm" },
      arm: { type: "string", default: "models/brown-arm" },
      prompts: { type: "string", default: "20" },
      "max-seqs": { type: "string", default: "64" },
      quick: { type: "boolean", default: false },
      out: { type: "string", default: "docs/results" },
    },
  });
  const { SHIPPED_RECIPE } = await import("./train_shipped.ts");
  const count = Number(values.prompts);
  const command = `deno task report:shipped${values.quick ? " --quick" : ""}${
    count !== 20 ? ` --prompts ${count}` : ""
  }`;
  const mdm = await loadPretrained(values.mdm);
  const arm = await loadPretrained(values.arm, { backend: mdm.backend });
  const docs = await heldOutDocs();
  console.log(`report:shipped: ${mdm.dir} and ${arm.dir} on ${mdm.backend.name}`);
  const held_out = await heldOutFigures(mdm, arm, docs, Number(values["max-seqs"]));
  console.log(`held out: bound ${held_out.mdm_bound_bits_per_char}, NLL ${held_out.arm_nll_bits_per_char}`);
  const prompts = heldOutPrompts(docs, count, 0);
  const vocabulary = await brownVocabulary();
  const reference = referenceEntropy(mdm, prompts);
  const cells: CellResult[] = [];
  for (const cell of readabilityGrid(values.quick)) {
    const r = await measureCell(cell, cell.model === "mdm" ? mdm : arm, prompts, vocabulary, reference);
    console.log(
      `${cell.model} ${JSON.stringify(cell)}: word validity ${r.word_validity}, entropy ${r.entropy}`,
    );
    cells.push(r);
  }
  const report: ShippedReport = {
    command,
    prompts,
    reference_entropy: reference,
    entropy_floor: ENTROPY_FLOOR,
    held_out,
    cells,
    chosen: {
      mdm: bestCell(cells.filter((c) => c.model === "mdm")),
      arm: bestCell(cells.filter((c) => c.model === "arm")),
    },
    training: {
      mdm: await trainingRecord(mdm.dir, SHIPPED_RECIPE),
      arm: await trainingRecord(arm.dir, SHIPPED_RECIPE),
    },
    parameters: { mdm: mdm.model.parameterCount, arm: arm.model.parameterCount },
  };
  for (const [which, p] of [["mdm", mdm], ["arm", arm]] as const) {
    const chosen = report.chosen[which];
    if (chosen) {
      await writeFileAtomic(
        `${p.dir}/generation_config.json`,
        JSON.stringify(generationConfigOf(chosen), null, 2) + "\n",
      );
    }
    await writeFileAtomic(`${p.dir}/README.md`, modelCard(which, report, SHIPPED_RECIPE));
  }
  await writeFileAtomic(`${values.out}/shipped_models.json`, JSON.stringify(report, null, 2) + "\n");
  await writeFileAtomic(`${values.out}/shipped_models.md`, resultsMarkdown(report));
  console.log(`written: ${mdm.dir}/README.md, ${arm.dir}/README.md, ${values.out}/shipped_models.{json,md}`);
}
