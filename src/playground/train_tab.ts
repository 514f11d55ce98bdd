/// <reference lib="dom" />
/**
 * The train tab: a tiny mask predictor trained in the tab on the page's backend (WebGPU where the browser has
 * it), on text the reader pastes or the Brown sample, with the library's own training step (`train/step.ts`:
 * LLaDA's Eq. 3 loss, AdamW, gradient clipping). A live chart shows the loss of every step and, every few steps
 * and at the end, the Eq. 4 bound on a held-out tenth of the text in bits per character (`train/eval.ts`).
 * Then the model samples, its trace drawn like the generate tab's.
 *
 * Left out, to stay small enough for a tab: the learning-rate schedule (a constant rate), checkpoints and BPE
 * (the tokenizer is the text's characters).
 *
 * @module
 */

import type { Backend } from "../backend/backend.ts";
import { CharTokenizer } from "../tokenizer/char.ts";
import { createModel, type LLaDAModel } from "../model/llada.ts";
import { paddedEmbeddingSize } from "../model/config.ts";
import { AdamW } from "../optim/adamw.ts";
import { Rng } from "../rng.ts";
import { trainStep } from "../train/step.ts";
import { heldOutEstimate, makeEvalSet } from "../train/eval.ts";
import { packSequences } from "../data/packing.ts";
import { encodePrompt } from "../generate_text.ts";
import { sample } from "../llada/strategies.ts";
import { denoisingGridHtml, type GridStep, gridStep, initialGridStep } from "../viz/denoising_grid.ts";
import { byId, nextFrame, requiredNumber } from "./dom.ts";
import { lossChartSvg, type LossPoint } from "./loss_chart.ts";

/** Held-out windows for the bound, and Monte Carlo samples per window: enough for a curve, quick in a tab. */
const EVAL_WINDOWS = 8;
const EVAL_SAMPLES = 4;

/** A model trained in this tab, with its tokenizer. */
interface TabModel {
  model: LLaDAModel;
  tokenizer: CharTokenizer;
}

/** Wires the train form, the chart and the sampling form. */
export function setupTrainTab(backend: Backend): void {
  const text = byId<HTMLTextAreaElement>("train-text");
  const message = byId("train-message");
  const stats = byId("train-stats");
  const trainButton = byId<HTMLButtonElement>("train");
  const stopButton = byId<HTMLButtonElement>("train-stop");
  const sampleButton = byId<HTMLButtonElement>("train-sample");
  let trained: TabModel | null = null;
  let stopRequested = false;

  byId("brown-sample").addEventListener("click", async () => {
    try {
      const response = await fetch("brown-sample.txt");
      if (!response.ok) throw new Error(`brown-sample.txt: the server answered ${response.status}`);
      text.value = await response.text();
    } catch (e) {
      message.textContent = `Could not fetch the Brown sample: ${(e as Error).message}`;
    }
  });
  stopButton.addEventListener("click", () => void (stopRequested = true));

  byId<HTMLFormElement>("train-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    message.textContent = "";
    trainButton.disabled = true;
    stopButton.disabled = false;
    sampleButton.disabled = true;
    stopRequested = false;
    delete stats.dataset.done;
    try {
      trained = await train(backend, text.value, () => stopRequested, (line, points) => {
        stats.textContent = line;
        byId("loss-chart").innerHTML = lossChartSvg(points);
        stats.dataset.losses = JSON.stringify(points.filter((p) => p.loss !== undefined).map((p) => p.loss));
        stats.dataset.bounds = JSON.stringify(
          points.filter((p) => p.bound !== undefined).map((p) => p.bound),
        );
      });
      sampleButton.disabled = false;
      stats.dataset.done = "true";
    } catch (e) {
      message.textContent = (e as Error).message;
    } finally {
      trainButton.disabled = false;
      stopButton.disabled = true;
    }
  });

  byId<HTMLFormElement>("train-sample-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!trained) return;
    message.textContent = "";
    sampleButton.disabled = true;
    try {
      await sampleTrained(
        trained,
        byId<HTMLInputElement>("train-prompt").value,
        requiredNumber("train-gen-length"),
      );
    } catch (e) {
      message.textContent = (e as Error).message;
    } finally {
      sampleButton.disabled = false;
    }
  });
}

/**
 * Trains a fresh model on `text` (the last tenth held out), calling `report` after every step with a status line
 * and the chart's points; stops early when `stopRequested()` says so.
 */
async function train(
  backend: Backend,
  text: string,
  stopRequested: () => boolean,
  report: (line: string, points: LossPoint[]) => void,
): Promise<TabModel> {
  const steps = requiredNumber("train-steps");
  const batch = requiredNumber("train-batch");
  const length = requiredNumber("train-length");
  const width = requiredNumber("train-width");
  const layers = requiredNumber("train-layers");
  const lr = requiredNumber("train-lr");
  const evalEvery = requiredNumber("train-eval-every");
  const cut = Math.floor(text.length * 0.9);
  const trainText = text.slice(0, cut);
  const heldOut = text.slice(cut);
  if (heldOut.length < 2 * length) {
    throw new Error(
      `The text has ${text.length} characters; its held-out tenth needs at least ${2 * length} ` +
        `(two sequences of ${length}). Paste more text, use the Brown sample, or lower the sequence length.`,
    );
  }
  const heads = width % 16 === 0 ? width / 16 : 1;
  if ((width / heads) % 2 !== 0) {
    throw new Error(`Width ${width} must be even (RoPE rotates pairs of features).`);
  }
  const tokenizer = CharTokenizer.fromTexts([text]);
  const model = await createModel({
    d_model: width,
    n_layers: layers,
    n_heads: heads,
    mlp_hidden_size: 4 * width,
    vocab_size: tokenizer.vocabSize,
    embedding_size: paddedEmbeddingSize(tokenizer.vocabSize),
    mask_token_id: tokenizer.maskId,
    eos_token_id: tokenizer.eosId,
    pad_token_id: tokenizer.padId,
    max_sequence_length: length,
  }, { backend, seed: 0 });
  const rows = packSequences([tokenizer.encode(trainText)], length, { eosId: tokenizer.eosId });
  if (rows.rows < 1) {
    throw new Error(`The training text is shorter than one sequence of ${length} characters.`);
  }
  const evalSet = makeEvalSet([heldOut], tokenizer, { length, count: EVAL_WINDOWS });
  const optimizer = new AdamW(model.namedParameters(), { lr, weightDecay: 0 });
  const rng = new Rng(1);
  const points: LossPoint[] = [];
  const started = performance.now();
  const bound = async (step: number) => {
    const { bitsPerChar } = await heldOutEstimate(model, evalSet, { mcSamples: EVAL_SAMPLES, seed: 0 });
    points.push({ step, bound: bitsPerChar });
    return bitsPerChar;
  };
  let last = await bound(0);
  for (let step = 1; step <= steps && !stopRequested(); step++) {
    const tokens = new Int32Array(batch * length);
    for (let b = 0; b < batch; b++) {
      const row = rng.int(0, rows.rows - 1);
      tokens.set(rows.tokens.subarray(row * length, (row + 1) * length), b * length);
    }
    const result = trainStep(model, optimizer, { tokens, batch, length }, {
      objective: "pretrain",
      lr,
      clip: 1,
      rng,
    });
    const loss = (await result.loss.data())[0];
    result.loss.dispose();
    result.gradNorm?.dispose();
    if (!Number.isFinite(loss)) {
      throw new Error(`The loss became ${loss} at step ${step}: lower the learning rate.`);
    }
    points.push({ step, loss });
    if (step % evalEvery === 0 || step === steps) last = await bound(step);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    report(
      `step ${step}/${steps} · loss ${loss.toFixed(3)} · held-out bound ${
        last.toFixed(3)
      } bits/char · ${seconds} s`,
      points,
    );
    await nextFrame();
  }
  return { model, tokenizer };
}

/** Samples a continuation of `promptText` from the tab's model and draws its trace. */
async function sampleTrained(trained: TabModel, promptText: string, genLength: number): Promise<void> {
  const { model, tokenizer } = trained;
  const ids = encodePrompt(tokenizer, promptText);
  const room = model.config.max_sequence_length - ids.length;
  if (genLength > room) {
    throw new Error(
      `${ids.length} prompt characters leave room for ${room} tokens in this model; ask for fewer.`,
    );
  }
  const steps: GridStep[] = [initialGridStep(ids, genLength, tokenizer.maskId)];
  const { tokens } = await sample(model, [ids], {
    genLength,
    steps: genLength,
    maskId: tokenizer.maskId,
    eosId: tokenizer.eosId,
    onStep: async (state) => {
      steps.push(gridStep(state));
      byId("train-grid").innerHTML = denoisingGridHtml(steps, {
        tokenizer,
        promptLength: ids.length,
        blockLength: genLength,
      });
      await nextFrame();
    },
  });
  byId("train-sample-text").textContent = promptText +
    tokenizer.decode(tokens[0].slice(ids.length), { skipSpecial: true });
}
