/// <reference lib="dom" />
/**
 * The generate tab: loads the shipped mask predictor (and its autoregressive twin, when one was shipped) with a
 * progress bar, runs the lab's sampler (`llada/strategies.ts`, which with no lab option set gives `generate`'s
 * tokens) with every option from the form, and draws each step into the denoising grid as it happens. A slider
 * replays any step; the twin, when asked for, writes the same prompt left to right beside it.
 *
 * The last result's tokens and settings are left on `#result-stats` as `data-*` attributes, so a test can compare
 * them with the command line's.
 *
 * @module
 */

import type { Backend } from "../backend/backend.ts";
import type { Pretrained } from "../pretrained.ts";
import { encodePrompt, resolveSampling, type SamplingSettings } from "../generate_text.ts";
import { type CacheMode, sample, type SampleOptions, type Strategy } from "../llada/strategies.ts";
import { REMASKINGS } from "../llada/reverse_sampling.ts";
import { generateAutoregressive } from "../llada/autoregressive_sampling.ts";
import { denoisingGridHtml, type GridStep, gridStep, initialGridStep } from "../viz/denoising_grid.ts";
import { fetchPretrained, type PlaygroundManifest } from "./models.ts";
import { byId, checked, fieldValue, nextFrame, optionalNumber, requiredNumber } from "./dom.ts";

/** The models the page loaded. */
interface Loaded {
  maskPredictor: Pretrained;
  twin: Pretrained | null;
}

/** Fetches `models.json` and the models it names, showing progress; null (with a message) when that fails. */
async function loadModels(backend: Backend): Promise<Loaded | null> {
  const bar = byId<HTMLProgressElement>("model-progress");
  const message = byId("model-message");
  let manifest: PlaygroundManifest;
  try {
    const response = await fetch("models.json");
    if (!response.ok) throw new Error(`models.json: the server answered ${response.status}`);
    manifest = await response.json();
    const names = [manifest.maskPredictor, manifest.twin].filter((n): n is string => n !== null);
    const models: Pretrained[] = [];
    for (const [i, name] of names.entries()) {
      message.textContent = `fetching models/${name} (${i + 1} of ${names.length})…`;
      models.push(
        await fetchPretrained(`models/${name}`, backend, (loaded, total) => {
          bar.max = Math.max(1, total);
          bar.value = loaded;
          message.textContent = `fetching models/${name}: ${(loaded / 1e6).toFixed(2)} of ${
            (total / 1e6).toFixed(2)
          } MB`;
        }),
      );
    }
    const [maskPredictor, twin] = models;
    const size = (p: Pretrained) =>
      `${p.dir} (${p.model.config.n_layers} layers, width ${p.model.config.d_model}, ${p.tokenizer.type} tokenizer)`;
    message.textContent = `Loaded ${size(maskPredictor)}${
      twin ? ` and its autoregressive twin ${size(twin)}` : ""
    }.`;
    return { maskPredictor, twin: twin ?? null };
  } catch (e) {
    message.textContent = "";
    byId("generate-message").textContent = `The model failed to load: ${(e as Error).message}. ` +
      "Rebuild the site with `deno task playground` (it copies the models beside the page) and reload.";
    return null;
  }
}

/** Fills the form with the model's recommended settings (its generation_config.json). */
function prefill(pretrained: Pretrained): void {
  const gc = pretrained.generationConfig;
  const set = (id: string, value: string | number | undefined) => {
    if (value !== undefined) byId<HTMLInputElement>(id).value = String(value);
  };
  set("temperature", gc.temperature);
  set("cfg", gc.cfg);
  set("seed", gc.seed);
  if (gc.remasking) set("strategy", gc.remasking);
  if (gc.threshold !== undefined) {
    set("parallel", "threshold");
    set("parallel-value", gc.threshold);
  }
}

/** The sampler settings and the lab's options from the form. */
function readForm(): { settings: SamplingSettings; lab: Partial<SampleOptions> } {
  const strategy = fieldValue("strategy") as Strategy;
  const parallel = fieldValue("parallel");
  const parallelValue = parallel === "none" ? undefined : requiredNumber("parallel-value");
  const settings: SamplingSettings = {
    genLength: requiredNumber("gen-length"),
    steps: requiredNumber("steps"),
    blockLength: requiredNumber("block-length"),
    temperature: requiredNumber("temperature"),
    cfgScale: requiredNumber("cfg"),
    seed: requiredNumber("seed"),
    threshold: parallel === "threshold" ? parallelValue : undefined,
    remasking: (REMASKINGS as readonly string[]).includes(strategy)
      ? strategy as SamplingSettings["remasking"]
      : undefined,
    logitsEosInf: checked("logits-eos-inf"),
    confidenceEosInf: checked("confidence-eos-inf"),
  };
  const lab: Partial<SampleOptions> = {
    strategy,
    factor: parallel === "factor" ? parallelValue : undefined,
    topK: optionalNumber("top-k"),
    topP: optionalNumber("top-p"),
    remask: requiredNumber("remask"),
    cache: fieldValue("cache") as CacheMode,
    cacheRefresh: optionalNumber("cache-refresh"),
    earlyStop: checked("early-stop"),
  };
  return { settings, lab };
}

/** Wires the form, the grid and the replay slider to the loaded models. */
export async function setupGenerateTab(backend: Backend): Promise<void> {
  const loaded = await loadModels(backend);
  if (!loaded) return;
  const { maskPredictor, twin } = loaded;
  prefill(maskPredictor);
  const compare = byId<HTMLInputElement>("compare-twin");
  compare.disabled = twin === null;
  compare.parentElement!.title = twin ? "" : "no autoregressive twin was shipped with this model";
  const button = byId<HTMLButtonElement>("generate");
  const stop = byId<HTMLButtonElement>("stop");
  const slider = byId<HTMLInputElement>("replay");
  const stats = byId("result-stats");
  const messageBox = byId("generate-message");
  let steps: GridStep[] = [];
  let draw = (_rows: number) => {};
  let controller: AbortController | null = null;

  slider.addEventListener("input", () => {
    byId("replay-value").textContent = slider.value;
    draw(Number(slider.value) + 1);
  });
  stop.addEventListener("click", () => controller?.abort(new Error("stopped")));

  byId<HTMLFormElement>("generate-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    messageBox.textContent = "";
    button.disabled = true;
    stop.disabled = false;
    controller = new AbortController();
    try {
      const { tokenizer, model } = maskPredictor;
      const promptText = byId<HTMLTextAreaElement>("prompt").value;
      const { settings, lab } = readForm();
      const ids = encodePrompt(tokenizer, promptText);
      const resolved = resolveSampling(maskPredictor, ids.length, settings);
      const { remasking: _ranking, ...shared } = resolved.options;
      const blockLength = shared.blockLength ?? shared.genLength;
      steps = [initialGridStep(ids, shared.genLength, tokenizer.maskId)];
      const render = (rows: number) => {
        byId("grid").innerHTML = denoisingGridHtml(steps, {
          tokenizer,
          promptLength: ids.length,
          blockLength,
          rows,
          caption: `Denoising of "${promptText}": one row per step`,
        });
      };
      draw = render;
      byId("result-prompt").textContent = promptText;
      byId("result-text").textContent = "";
      const started = performance.now();
      const seconds = () => ((performance.now() - started) / 1000).toFixed(2);
      const { tokens, nfe } = await sample(model, [ids], {
        ...shared,
        ...lab,
        signal: controller.signal,
        onStep: async (state) => {
          steps.push(gridStep(state));
          render(steps.length);
          stats.textContent = `NFE ${state.nfe} · ${seconds()} s · block ${state.block + 1}`;
          await nextFrame();
        },
      });
      const answer = tokens[0].slice(ids.length);
      const end = answer.indexOf(tokenizer.eosId);
      const completion = tokenizer.decode(end < 0 ? answer : answer.slice(0, end), { skipSpecial: true });
      byId("result-text").textContent = completion;
      stats.textContent = `${nfe} network evaluations (NFE) in ${seconds()} s on ${backend.name}`;
      stats.dataset.tokens = JSON.stringify(answer);
      stats.dataset.nfe = String(nfe);
      slider.max = String(steps.length - 1);
      slider.value = slider.max;
      slider.disabled = false;
      byId("replay-value").textContent = slider.value;
      if (resolved.notes.length > 0) {
        messageBox.textContent = `Adapted to the model: ${resolved.notes.join("; ")}.`;
      }
      if (twin && checked("compare-twin")) await runTwin(twin, promptText, shared.genLength, shared);
      stats.dataset.done = "true";
    } catch (e) {
      messageBox.textContent = (e as Error).message;
    } finally {
      button.disabled = false;
      stop.disabled = true;
      controller = null;
    }
  });
  button.disabled = false;
  button.dataset.ready = "true";
}

/** Decodes the same prompt left to right with the twin, beside the mask predictor's result. */
async function runTwin(
  twin: Pretrained,
  promptText: string,
  genLength: number,
  options: { temperature?: number; seed?: number },
): Promise<void> {
  byId("twin-result").hidden = false;
  const { tokenizer, model } = twin;
  const ids = encodePrompt(tokenizer, promptText);
  const started = performance.now();
  const { tokens, nfe } = await generateAutoregressive(model, [ids], {
    genLength,
    temperature: options.temperature,
    seed: options.seed,
    bosId: tokenizer.eosId,
    maskId: tokenizer.maskId,
  });
  const answer = tokens[0].slice(ids.length);
  const end = answer.indexOf(tokenizer.eosId);
  byId("twin-prompt").textContent = promptText;
  byId("twin-text").textContent = tokenizer.decode(end < 0 ? answer : answer.slice(0, end), {
    skipSpecial: true,
  });
  byId("twin-stats").textContent = `${nfe} network evaluations in ${
    ((performance.now() - started) / 1000).toFixed(2)
  } s`;
}
