/// <reference lib="dom" />
/**
 * Which models the playground ships, and fetching them into the page with progress.
 *
 * {@link PLAYGROUND_MODELS} is the preference order: the build (`scripts/playground.ts`) ships the first entry
 * whose mask predictor is in `models/`, with its autoregressive twin when that is there too, and writes the
 * choice to `models.json` beside the page. The page reads that file, then the model files, with `fetch`.
 *
 * @module
 */

import { parseSafetensors } from "../io/safetensors_read.ts";
import { type Pretrained, pretrainedFromFiles } from "../pretrained.ts";
import type { Backend } from "../backend/backend.ts";

/** A mask predictor and, where one was trained beside it, its autoregressive twin (folder names in `models/`). */
export interface ModelChoice {
  /** The mask predictor's folder. */
  maskPredictor: string;
  /** The twin's folder, if any. */
  twin?: string;
}

/** The models the playground prefers, best first: the shipped pair, else the character-level model. */
export const PLAYGROUND_MODELS: readonly ModelChoice[] = [
  { maskPredictor: "brown-mdm", twin: "brown-arm" },
  { maskPredictor: "brown-char" },
];

/** What the build shipped (`models.json`): the mask predictor's folder and the twin's, or null. */
export interface PlaygroundManifest {
  /** Folder of the mask predictor under `models/`. */
  maskPredictor: string;
  /** Folder of the twin under `models/`, or null when none was shipped. */
  twin: string | null;
}

/** Bytes fetched so far and the total expected (0 while unknown). */
export type Progress = (loaded: number, total: number) => void;

/**
 * Fetches `url`'s body, reporting the bytes received so far and the total the server announced (0 when it did
 * not); a failed request is an error naming the URL and the status.
 */
async function fetchBytes(url: string, progress: Progress): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok || !response.body) {
    throw new Error(`${url}: the server answered ${response.status} ${response.statusText}`);
  }
  const total = Number(response.headers.get("content-length") ?? 0);
  const chunks: Uint8Array[] = [];
  let length = 0;
  const reader = response.body.getReader();
  progress(0, total);
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    length += value.length;
    progress(length, total);
  }
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/**
 * Fetches the model in `base` (a URL ending in the folder name, e.g. `models/brown-char`) and loads it on
 * `backend`, calling `progress` as the weights arrive.
 */
export async function fetchPretrained(
  base: string,
  backend: Backend,
  progress: Progress,
): Promise<Pretrained> {
  const text = async (file: string) =>
    new TextDecoder().decode(await fetchBytes(`${base}/${file}`, () => {}));
  const weightsUrl = `${base}/model.safetensors`;
  // The build writes generation_config.json for every model ("{}" where it has none), so no request fails.
  const [config, tokenizer, generationConfig, bytes] = await Promise.all([
    text("config.json"),
    text("tokenizer.json"),
    text("generation_config.json"),
    fetchBytes(weightsUrl, progress),
  ]);
  const weights = parseSafetensors(bytes, weightsUrl);
  return await pretrainedFromFiles(base, { config, tokenizer, weights, generationConfig }, { backend });
}
