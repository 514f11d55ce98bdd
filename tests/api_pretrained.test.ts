/**
 * The library's entry points for a trained model: useBackend, loadPretrained, resolveSampling and
 * generateText, with the shipped model on the CPU backend (the WebGPU path is the same code with another
 * backend; examples.test.ts runs it where an adapter exists), and their InputErrors.
 */

import assert from "node:assert/strict";
import {
  generateText,
  type GenerationConfig,
  InputError,
  loadPretrained,
  type Pretrained,
  resolveSampling,
  useBackend,
} from "../mod.ts";

const SHIPPED = new URL("../models/brown-char", import.meta.url).pathname;

Deno.test("useBackend says what it chose and why; unknown kinds are an InputError naming the argument", async () => {
  const cpu = await useBackend("cpu");
  assert.equal(cpu.name, "cpu");
  assert.equal(cpu.requested, "cpu");
  assert.equal(cpu.reason, 'requested "cpu"');
  assert.equal(cpu.backend.name, "cpu");
  await assert.rejects(
    () => useBackend("tpu" as "cpu"),
    (e) =>
      e instanceof InputError && e.argument === "backend" &&
      /expected one of auto, webgpu, cpu/.test(e.message),
  );
});

Deno.test("loadPretrained gives the shipped model, its tokenizer and its generation_config.json", async () => {
  const p = await loadPretrained(SHIPPED, { backend: "cpu" });
  assert.equal(p.backend.name, "cpu");
  assert.equal(p.model.config.vocab_size, 90);
  assert.equal(p.tokenizer.vocabSize, 90);
  assert.deepEqual(p.generationConfig, { remasking: "random", temperature: 0.7 });
  assert.equal(p.dir, SHIPPED);
});

Deno.test("generateText continues a prompt, returns the trace, and is deterministic for a seed", async () => {
  const p = await loadPretrained(SHIPPED, { backend: "cpu" });
  const a = await generateText(p, "The jury said", { genLength: 8, seed: 3 });
  assert.ok(a.text.startsWith("The jury said"));
  assert.equal(a.text, "The jury said" + a.completion);
  assert.equal(a.tokens.length, "The jury said".length + 8);
  assert.equal(a.nfe, 8); // one step per token by default
  assert.equal(a.trace.length, 9); // the start and every step
  assert.equal(a.trace[0].canvas, "The jury said" + "▒".repeat(8));
  assert.ok(!a.trace[8].canvas.includes("▒"));
  assert.equal(a.sampling.sources.remasking, "generation_config.json");
  const b = await generateText(p, "The jury said", { genLength: 8, seed: 3 });
  assert.equal(b.text, a.text);
});

Deno.test("resolveSampling adapts the defaults to the model and refuses given settings that do not fit", () => {
  const fake = (max: number, generationConfig: GenerationConfig = {}) =>
    ({
      model: { config: { max_sequence_length: max } },
      tokenizer: { maskId: 0, eosId: 1, padId: 1 },
      generationConfig,
    }) as unknown as Pretrained;
  // The default 64 does not fit a 32-token model after an 8-token prompt: capped to 24, one block, 24 steps.
  const capped = resolveSampling(fake(32), 8);
  assert.equal(capped.options.genLength, 24);
  assert.equal(capped.options.blockLength, 24);
  assert.equal(capped.options.steps, 24);
  assert.equal(capped.sources.genLength, "adapted");
  assert.match(capped.notes[0], /genLength 64 → 24/);
  // A recommended block length that no longer divides falls back to one block.
  const blocks = resolveSampling(fake(32, { block_length: 16, steps: 64 }), 10);
  assert.equal(blocks.options.genLength, 22);
  assert.equal(blocks.options.blockLength, 22);
  assert.equal(blocks.options.steps, 22);
  // Given settings are kept or refused, never changed.
  assert.throws(
    () => resolveSampling(fake(32), 8, { genLength: 30 }),
    (e) => e instanceof InputError && e.argument === "genLength" && /pass at most 24/.test(e.message),
  );
  assert.throws(
    () => resolveSampling(fake(32), 8, { genLength: 24, blockLength: 5 }),
    /blockLength: 5 does not/,
  );
  assert.throws(() => resolveSampling(fake(32), 32), /prompt: 32 tokens leave no room/);
  assert.equal(resolveSampling(fake(128), 8, { genLength: 16, steps: 4 }).options.steps, 4);
});

Deno.test("loadPretrained and generateText name the file or argument a user got wrong", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      () => loadPretrained(`${dir}/nothing`, { backend: "cpu" }),
      /nothing: does not exist/,
    );
    await assert.rejects(() => loadPretrained(dir, { backend: "cpu" }), (e) => e instanceof InputError);
    for (const f of ["config.json", "model.safetensors", "generation_config.json"]) {
      await Deno.copyFile(`${SHIPPED}/${f}`, `${dir}/${f}`);
    }
    await assert.rejects(() => loadPretrained(dir, { backend: "cpu" }), /tokenizer\.json: not found/);
    await Deno.writeTextFile(`${dir}/tokenizer.json`, '{"model": ');
    await assert.rejects(
      () => loadPretrained(dir, { backend: "cpu" }),
      (e) =>
        e instanceof InputError && e.argument === `${dir}/tokenizer.json` && /not valid JSON/.test(e.message),
    );
    await Deno.copyFile(`${SHIPPED}/tokenizer.json`, `${dir}/tokenizer.json`);
    await Deno.writeTextFile(`${dir}/generation_config.json`, '{"temperature": -1}');
    await assert.rejects(
      () => loadPretrained(dir, { backend: "cpu" }),
      /temperature: expected a number ≥ 0, got -1/,
    );
    await Deno.copyFile(`${SHIPPED}/generation_config.json`, `${dir}/generation_config.json`);
    const p = await loadPretrained(dir, { backend: "cpu" });
    await assert.rejects(
      () => generateText(p, "naïve", { genLength: 4 }),
      (e) => e instanceof InputError && e.argument === "prompt" && /"ï" \(U\+00EF\)/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("generateText stops between steps when its signal is aborted", async () => {
  const p = await loadPretrained(SHIPPED, { backend: "cpu" });
  const controller = new AbortController();
  let steps = 0;
  await assert.rejects(
    () =>
      generateText(p, "The", {
        genLength: 16,
        signal: controller.signal,
        onStep: () => {
          if (++steps === 3) controller.abort(new Error("stop after three"));
        },
      }),
    /stop after three/,
  );
  assert.equal(steps, 3);
  const aborted = new AbortController();
  aborted.abort();
  await assert.rejects(() => generateText(p, "The", { genLength: 4, signal: aborted.signal }));
});
