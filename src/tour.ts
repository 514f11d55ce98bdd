/**
 * `deno task tour`: a guided walk through one reverse (sampling) step and one training step of the shipped model,
 * stopping at each stage to show what the code holds there and naming the file and function that computed it, so
 * the reader can open it next. Enter goes on; `--no-pause` runs straight through (scripts, the test suite).
 *
 * The tour only calls the library and prints: the reverse step is `generate` itself, watched through its `onStep`
 * hook and through the one interface it sees a network by (`LogitsModel`), and the training step is the four
 * calls `trainStep` makes (`objectiveLoss`, `backward`, `clipGradNorm`, `AdamW.update`), made one at a time.
 *
 * @module
 */

import { parseCommand, UsageError } from "./cli/args.ts";
import { BACKEND_OPTION, chooseBackend, DEFAULT_MODEL, modelPath } from "./cli/common.ts";
import { loadPretrained } from "./pretrained.ts";
import { renderCanvas } from "./tokenizer/render.ts";
import { generate, numTransferTokens, type StepState } from "./llada/reverse_sampling.ts";
import type { LogitsModel } from "./llada/logits_model.ts";
import { softmaxNormaliser } from "./llada/softmax.ts";
import { MASK_EPS } from "./llada/forward_masking.ts";
import { type LossParts, objectiveLoss } from "./train/step.ts";
import { AdamW } from "./optim/adamw.ts";
import { clipGradNorm } from "./optim/clip.ts";
import { Rng } from "./rng.ts";
import { tidy } from "./tensor.ts";
import type { Tokenizer } from "./tokenizer/tokenizer.ts";

const SPEC = {
  name: "tour",
  summary: "a guided walk through one sampling step and one training step of the shipped model",
  description: `Stops at each stage to show what the code holds there (Enter goes on) and names the file and
function that computed it.`,
  options: {
    model: { type: "string" as const, default: DEFAULT_MODEL, placeholder: "DIR", help: "model directory" },
    prompt: {
      type: "string" as const,
      default: "The jury said",
      help: "the text the sampling step continues",
    },
    "no-pause": { type: "boolean" as const, help: "run straight through (scripts, CI)" },
    backend: BACKEND_OPTION,
  },
};

/** Answer tokens the sampling stage generates, and the steps they take (two tokens per step). */
const GEN_LENGTH = 16;
const STEPS = 8;
/** Masked positions whose top-3 predictions are shown. */
const POSITIONS_SHOWN = 4;
/** The clean training text: two rows of this many characters. */
const TRAIN_LENGTH = 48;
const TRAIN_TEXT = [
  "The jury said it did find that many of Georgia's ",
  "It urged that the city take steps to remedy this ",
];
/** Parameters listed by gradient norm. */
const GRADIENTS_SHOWN = 6;

/** Prints a stage's heading, the function that computed what follows, and its lines; then waits for Enter. */
class Stages {
  #n = 0;
  constructor(readonly total: number, readonly pause: boolean) {}

  show(title: string, computedBy: string, lines: string[]): void {
    this.#n++;
    console.log(`\n━━ ${this.#n}/${this.total}  ${title} ${"━".repeat(Math.max(3, 70 - title.length))}`);
    console.log(`   computed by ${computedBy}\n`);
    for (const line of lines) console.log(`   ${line}`);
    if (this.pause && this.#n < this.total) prompt("\n   [Enter] next stage");
  }
}

/** `'e'` for a token id, with the canvas's symbols for special ones. */
function glyph(tokenizer: Tokenizer, id: number): string {
  return `'${renderCanvas(tokenizer, [id])}'`;
}

/** The three most likely tokens at one position of `[length, V]` logits, with their softmax probabilities. */
function top3(logits: ArrayLike<number>, position: number, V: number): { id: number; p: number }[] {
  const offset = position * V;
  const { max, sum } = softmaxNormaliser(logits, offset, V);
  const ids = [...Array(V).keys()].sort((a, b) => logits[offset + b] - logits[offset + a]).slice(0, 3);
  return ids.map((id) => ({ id, p: Math.exp(logits[offset + id] - max) / sum }));
}

/** The reverse step: the canvas, the network's predictions, what the step commits and why. */
async function reverseStep(stages: Stages, model: LogitsModel, tokenizer: Tokenizer, text: string) {
  const prompt = tokenizer.encode(text);
  // Watch the network through the interface the sampler sees it by: the canvas that went in, the logits out.
  const seen: { tokens?: Int32Array; logits?: Float32Array } = {};
  const watched: LogitsModel = {
    vocabSize: model.vocabSize,
    logits: async (tokens, batch, length, mask) => {
      seen.tokens = tokens.slice();
      seen.logits = await model.logits(tokens, batch, length, mask);
      return seen.logits;
    },
  };
  const V = model.vocabSize;
  let shown = false;
  const onStep = (s: StepState) => {
    if (shown) return;
    shown = true;
    const before = Array.from(seen.tokens!);
    const schedule = numTransferTokens(GEN_LENGTH, STEPS);
    stages.show(
      "The canvas at t = 1",
      "generate → buildCanvas, numTransferTokens (src/llada/reverse_sampling.ts)",
      [
        `prompt ${JSON.stringify(text)} (${prompt.length} tokens) followed by ${GEN_LENGTH} masks ▒:`,
        `  ${renderCanvas(tokenizer, before)}`,
        `${STEPS} steps will unmask them, this many per step: [${schedule.join(", ")}]`,
      ],
    );
    const masked = before.flatMap((id, i) => (id === tokenizer.maskId ? [i] : []));
    const lines = [
      `logits [1, ${before.length}, ${V}]; softmax at the first ${POSITIONS_SHOWN} masked positions:`,
    ];
    for (const i of masked.slice(0, POSITIONS_SHOWN)) {
      const top = top3(seen.logits!, i, V).map((c) => `${glyph(tokenizer, c.id)} ${c.p.toFixed(3)}`);
      lines.push(`  position ${String(i).padStart(2)}:  ${top.join("   ")}`);
    }
    stages.show(
      "One network evaluation of the whole canvas",
      "guidedLogits (src/llada/guidance.ts) → LLaDAModel.logits → LLaDAModel.forward (src/model/llada.ts)",
      lines,
    );
    const ranked = masked.slice().sort((a, b) => s.confidence[0][b] - s.confidence[0][a]);
    const committed = new Set(s.committed[0]);
    stages.show(
      "Predict, score, commit",
      "decodeRow → predictToken, confidence (src/llada/reverse_sampling.ts)",
      [
        "every masked position's prediction x̂ (argmax at temperature 0) and its confidence softmax(x̂),",
        "highest first; the step keeps the top ones and leaves the rest masked (low_confidence remasking):",
        ...ranked.slice(0, 6).map((i) => {
          const xHat = glyph(tokenizer, s.predicted[0][i]);
          const c = s.confidence[0][i].toFixed(3);
          const verdict = committed.has(i) ? "← committed" : "  stays masked";
          return `  position ${String(i).padStart(2)}: x̂ = ${xHat}  confidence ${c}  ${verdict}`;
        }),
        `  … ${ranked.length - 6} more, all less confident`,
        `the schedule commits ${committed.size} this step: the ${committed.size} most confident.`,
      ],
    );
    stages.show(
      "The canvas after the step",
      "decodeRow writes the committed predictions into the canvas (src/llada/reverse_sampling.ts)",
      [
        `  ${renderCanvas(tokenizer, s.tokens[0])}`,
        `committed positions ${s.committed[0].join(", ")}: revealed tokens are final, never remasked.`,
      ],
    );
  };
  const result = await generate(watched, [prompt], {
    genLength: GEN_LENGTH,
    steps: STEPS,
    maskId: tokenizer.maskId,
    eosId: tokenizer.eosId,
    onStep,
  });
  stages.show(
    `The other ${STEPS - 1} steps, the same way`,
    "generate (src/llada/reverse_sampling.ts)",
    [`  ${renderCanvas(tokenizer, result.tokens[0])}`, `${result.nfe} network evaluations in all.`],
  );
}

/** The training step: corruption, per-token losses and weights, the loss, gradients, the update. */
async function trainingStep(
  stages: Stages,
  model: Awaited<ReturnType<typeof loadPretrained>>["model"],
  tokenizer: Tokenizer,
) {
  const rows = TRAIN_TEXT.map((t) => tokenizer.encode(t).slice(0, TRAIN_LENGTH));
  const batch = { tokens: Int32Array.from(rows.flat()), batch: rows.length, length: TRAIN_LENGTH };
  const seed = 3;
  // trainStep's four calls, one at a time: objectiveLoss, backward, clipGradNorm, AdamW.update.
  const optimizer = new AdamW(model.namedParameters(), { lr: 1e-3 });
  const { loss, parts } = objectiveLoss(model, batch, "pretrain", new Rng(seed));
  const c = parts.corrupted!;
  const L = parts.length;
  stages.show(
    "Corrupt the clean batch: one t per row, each token masked with probability p",
    "objectiveLoss (src/train/step.ts) → corruptForPretraining (src/llada/forward_masking.ts)",
    [...Array(parts.batch).keys()].flatMap((b) => {
      const p = c.p[b];
      const t = (p - MASK_EPS) / (1 - MASK_EPS);
      const maskedHere = [...Array(L).keys()].filter((i) => c.masked[b * L + i]);
      return [
        `row ${b}: t = ${t.toFixed(3)}, p = (1 − ε)t + ε = ${p.toFixed(3)}, ${maskedHere.length}/${L} masked`,
        `  x₀  ${renderCanvas(tokenizer, Array.from(parts.clean.subarray(b * L, (b + 1) * L)))}`,
        `  x_t ${renderCanvas(tokenizer, Array.from(c.noisy.subarray(b * L, (b + 1) * L)))}`,
      ];
    }),
  );
  const perToken = await parts.perToken.data();
  const lines = weightedLossLines(tokenizer, parts, perToken);
  const lossValue = await loss.item();
  lines.push(`loss = Σ w·CE = ${lossValue.toFixed(4)} nats per token`);
  lines.push("(a one-sample estimate of the bound on −log p(x₀) / L)");
  stages.show(
    "Per-token losses and their weights",
    "pretrainingLossWeights (src/llada/loss_bound.ts), crossEntropy (src/ops/nn.ts), objectiveLoss",
    lines,
  );
  loss.backward();
  const norms = await gradientNorms(model);
  norms.sort((a, b) => b.norm - a.norm);
  const width = Math.max(...norms.map((n) => n.name.length));
  stages.show(
    "Backward: the largest gradients by parameter",
    "backward (src/tensor.ts), each op's closure beside its forward (src/ops/*.ts)",
    [
      "‖∂loss/∂θ‖ per parameter tensor, largest first:",
      ...norms.slice(0, GRADIENTS_SHOWN).map((n) => `  ${n.name.padEnd(width)}  ${n.norm.toExponential(3)}`),
      `  … ${norms.length - GRADIENTS_SHOWN} more`,
    ],
  );
  const norm = clipGradNorm(optimizer.params, 1);
  const gradNorm = await norm.item();
  optimizer.update();
  optimizer.zeroGrad();
  for (const t of [norm, loss, parts.perToken]) t.dispose();
  // The same masks again (the same seed), to see what the update did to this batch's loss.
  const again = tidy(() => objectiveLoss(model, batch, "pretrain", new Rng(seed)).loss);
  const after = await again.item();
  again.dispose();
  const before = lossValue.toFixed(4);
  const clipped = gradNorm > 1 ? ", clipped to 1" : " (under the clip of 1)";
  stages.show(
    "Clip the gradient norm, update with AdamW",
    "clipGradNorm (src/optim/clip.ts), AdamW.update (src/optim/adamw.ts), as trainStep does (src/train/step.ts)",
    [
      `global gradient norm ${gradNorm.toFixed(4)}${clipped}`,
      `one AdamW step at lr 1e-3; the loss on the same masked batch: ${before} → ${after.toFixed(4)}`,
    ],
  );
}

/** The first few masked positions of each row: cross-entropy, weight and weighted loss. */
function weightedLossLines(
  tokenizer: Tokenizer,
  parts: LossParts,
  perToken: ArrayLike<number>,
): string[] {
  const c = parts.corrupted!;
  const L = parts.length;
  const lines = [`weights w = 1/(p·B·L) on masked tokens (Eq. 3's 1/t), 0 elsewhere; CE = w·CE / w:`];
  for (let b = 0; b < parts.batch; b++) {
    const maskedHere = [...Array(L).keys()].filter((i) => c.masked[b * L + i]);
    lines.push(`row ${b}:`);
    for (const i of maskedHere.slice(0, 4)) {
      const n = b * L + i;
      const w = parts.weights[n];
      const ce = (perToken[n] / w).toFixed(3);
      const token = glyph(tokenizer, parts.clean[n]);
      const weighted = perToken[n].toFixed(4);
      lines.push(
        `  position ${String(i).padStart(2)} ${token}: CE ${ce}  w ${w.toFixed(5)}  w·CE ${weighted}`,
      );
    }
    if (maskedHere.length > 4) lines.push(`  … ${maskedHere.length - 4} more masked positions`);
  }
  return lines;
}

/** The gradient's norm per parameter tensor, after `backward`. */
async function gradientNorms(
  model: Awaited<ReturnType<typeof loadPretrained>>["model"],
): Promise<{ name: string; norm: number }[]> {
  const norms: { name: string; norm: number }[] = [];
  for (const [name, p] of model.namedParameters()) {
    const g = await p.grad!.data();
    let squares = 0;
    for (const v of g) squares += v * v;
    norms.push({ name, norm: Math.sqrt(squares) });
  }
  return norms;
}

/** Runs the tour; returns the exit code. */
export async function tour(argv: string[]): Promise<number> {
  const args = parseCommand(SPEC, argv, "deno task");
  if (args === null) return 0;
  const { backend, description } = await chooseBackend(args.string("backend"));
  console.log(description);
  const { model, tokenizer, dir } = await loadPretrained(modelPath(args), { backend });
  console.log(`model: ${dir} (${model.parameterCount} parameters)`);
  const stages = new Stages(9, !args.bool("no-pause"));
  console.log("\nPart 1: one reverse step (sampling)");
  await reverseStep(stages, model, tokenizer, args.string("prompt")!);
  console.log("\nPart 2: one training step");
  await trainingStep(stages, model, tokenizer);
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await tour(Deno.args));
  } catch (e) {
    console.error(`tour: ${(e as Error).message}`);
    Deno.exit(e instanceof UsageError ? 2 : 1);
  }
}
