/**
 * `generate` takes the mask, EOS and pad ids from the model's LLaDA config when it carries one, and stops when
 * its AbortSignal fires (before the next network evaluation).
 */

import assert from "node:assert/strict";
import { createModel, generate, type LogitsModel } from "../mod.ts";

const config = {
  d_model: 32,
  n_layers: 1,
  n_heads: 2,
  vocab_size: 16,
  max_sequence_length: 32,
  mask_token_id: 3,
  eos_token_id: 4,
  pad_token_id: 5,
};

Deno.test("generate defaults maskId, eosId and padId from the model's config", async () => {
  const model = await createModel(config, { seed: 1 });
  const prompts = [[6, 7, 8], [9]]; // different lengths: left-padded with the config's pad id
  const options = { genLength: 6, steps: 6, logitsEosInf: true };
  const implicit = await generate(model, prompts, options);
  const explicit = await generate(model, prompts, { ...options, maskId: 3, eosId: 4, padId: 5 });
  assert.deepEqual(implicit.tokens, explicit.tokens);
  // The defaults are really the config's: no generated token is the mask (3) or the forbidden EOS (4).
  for (const row of implicit.tokens) for (const id of row) assert.ok(id !== 3 && id !== 4, `${row}`);
  // An explicit id still wins over the config's.
  const other = await generate(model, [[6, 7]], { genLength: 4, steps: 4, maskId: 0 });
  assert.ok(other.tokens[0].slice(2).every((id) => id !== 0));
});

Deno.test("a model without a LLaDA config still needs maskId", async () => {
  const fake: LogitsModel = {
    vocabSize: 8,
    logits: (_tokens, batch, length) => Promise.resolve(new Float32Array(batch * length * 8)),
  };
  await assert.rejects(() => generate(fake, [[1]], { genLength: 2, steps: 2 }), /maskId is required/);
});

Deno.test("generate stops before the next network evaluation when its signal is aborted", async () => {
  const model = await createModel(config, { seed: 1 });
  const controller = new AbortController();
  let evaluations = 0;
  const counting: LogitsModel = {
    vocabSize: model.vocabSize,
    logits: (tokens, batch, length, mask) => {
      evaluations++;
      return model.logits(tokens, batch, length, mask);
    },
  };
  await assert.rejects(
    () =>
      generate(counting, [[6]], {
        genLength: 8,
        steps: 8,
        maskId: 3,
        signal: controller.signal,
        onStep: (s) => {
          if (s.nfe === 2) controller.abort(new Error("enough"));
        },
      }),
    /enough/,
  );
  assert.equal(evaluations, 2);
});
