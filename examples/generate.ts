/**
 * Generate text with the shipped model, on WebGPU where an adapter exists (else the CPU), and say which.
 *
 *     deno run -A examples/generate.ts ["prompt"] [gen-length]
 *
 * `LLADA_BACKEND=cpu|webgpu|auto` chooses the backend (default auto).
 *
 * @module
 */

import { generateText, loadPretrained, useBackend } from "../mod.ts";

const prompt = Deno.args[0] ?? "The jury said that";
const genLength = Number(Deno.args[1] ?? 48);

// 1. Choose the backend: WebGPU when an adapter exists (llvmpipe counts), else the CPU; it says why.
const { name, description, reason } = await useBackend();
console.log(`backend: ${name} — ${description} (${reason})`);

// 2. The model, its tokenizer and its recommended sampler settings (generation_config.json), on that backend.
const pretrained = await loadPretrained(new URL("../models/brown-char", import.meta.url).pathname);

// 3. Generate: the answer starts fully masked and is revealed over `genLength` steps.
const { text, nfe, trace } = await generateText(pretrained, prompt, { genLength, seed: 1 });
console.log(`first and last steps of the denoising trace:\n  ${trace[0].canvas}\n  ${trace.at(-1)!.canvas}`);
console.log(`${nfe} network evaluations:`);
console.log(text);
