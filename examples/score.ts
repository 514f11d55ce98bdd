/**
 * Score two continuations of a prompt with LLaDA's likelihood bound (Eq. 6, `conditionalLogLikelihood`): the
 * model prefers the continuation with the higher estimated log-likelihood.
 *
 *     deno run -A examples/score.ts [mc-samples]
 *
 * @module
 */

import { conditionalLogLikelihood, encodePrompt, loadPretrained, useBackend } from "../mod.ts";

const mcSamples = Number(Deno.args[0] ?? 128);
const prompt = "The jury said that the";
const continuations = [" election was fair.", " elephant was tall."];

const { name } = await useBackend();
const { model, tokenizer } = await loadPretrained(new URL("../models/brown-char", import.meta.url).pathname);
console.log(`backend: ${name}; ${mcSamples} Monte Carlo samples per estimate`);
console.log(`prompt: ${JSON.stringify(prompt)}`);

const promptIds = encodePrompt(tokenizer, prompt);
for (const text of continuations) {
  const answer = encodePrompt(tokenizer, text, "continuation");
  // A lower bound on log p(answer | prompt), in nats, estimated with a fixed seed (the same masks for both).
  const ll = await conditionalLogLikelihood(model, promptIds, answer, {
    maskId: tokenizer.maskId,
    mcSamples,
    seed: 0,
  });
  const bitsPerChar = -ll / Math.LN2 / text.length;
  console.log(
    `${JSON.stringify(text).padEnd(24)} bound on the log-likelihood ≈ ${ll.toFixed(2)} nats (${
      bitsPerChar.toFixed(2)
    } bits/char)`,
  );
}
