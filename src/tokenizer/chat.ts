/**
 * The chat template used for supervised fine-tuning (SFT) and the `chat` command.
 *
 * LLaDA's SFT (paper §2.3) trains on pairs (prompt `p_0`, response `r_0`): the prompt is never masked, the
 * response is masked and predicted, and responses are right-padded with EOS so the model learns where to stop.
 * This file fixes how a conversation becomes those two id sequences:
 *
 * ```
 * prompt   = <|bos|> <|user|> u₁ <|assistant|> a₁ <|eos|> <|user|> u₂ … <|user|> uₙ <|assistant|>
 * response = aₙ <|eos|>
 * ```
 *
 * Every assistant turn ends with EOS, both inside the prompt (earlier turns) and in the response, so a model
 * that has learned to stop after an answer sees the same pattern in its history.
 *
 * Left out on purpose: system prompts and tool calls, and the Llama-3 header tokens of the official template
 * (`<|start_header_id|>…<|eot_id|>`); one marker per role is enough for a model trained from scratch.
 *
 * @module
 */

import type { Tokenizer } from "./tokenizer.ts";

/** One turn of a conversation. */
export interface ChatTurn {
  /** Who speaks. */
  role: "user" | "assistant";
  /** What they say (plain text; special-token strings in it are ordinary text). */
  content: string;
}

/** A prompt and the response that should follow it, as token ids (input to `padSftPairs` in `data/sft.ts`). */
export interface ChatPair {
  /** `<|bos|> <|user|> … <|assistant|>`: conditioned on, never masked. */
  prompt: number[];
  /** The answer's ids followed by EOS: the part the model learns to generate. */
  response: number[];
}

/**
 * The ids of a conversation up to the point where the assistant should answer.
 *
 * @param turns a single user message, or turns alternating user/assistant that start and end with a user turn.
 * @returns `<|bos|> <|user|> u₁ <|assistant|> a₁ <|eos|> … <|user|> uₙ <|assistant|>`.
 */
export function encodeChatPrompt(tokenizer: Tokenizer, turns: string | readonly ChatTurn[]): number[] {
  const list: readonly ChatTurn[] = typeof turns === "string" ? [{ role: "user", content: turns }] : turns;
  if (list.length === 0 || list[list.length - 1].role !== "user") {
    throw new Error("encodeChatPrompt: the conversation must end with a user turn (the one to answer)");
  }
  const ids = [tokenizer.bosId];
  list.forEach((turn, i) => {
    const expected = i % 2 === 0 ? "user" : "assistant";
    if (turn.role !== expected) {
      throw new Error(
        `encodeChatPrompt: turn ${i} should be a ${expected} turn, got ${JSON.stringify(turn.role)}`,
      );
    }
    if (turn.role === "user") {
      ids.push(tokenizer.userId, ...tokenizer.encode(turn.content), tokenizer.assistantId);
    } else {
      ids.push(...encodeChatAnswer(tokenizer, turn.content));
    }
  });
  return ids;
}

/** The ids of an assistant answer: `encode(answer)` followed by EOS. */
export function encodeChatAnswer(tokenizer: Tokenizer, answer: string): number[] {
  return [...tokenizer.encode(answer), tokenizer.eosId];
}

/**
 * An SFT pair: the conversation up to the last user turn as the prompt, `answer` (plus EOS) as the response.
 *
 * @example
 * const { prompt, response } = encodeChatPair(tok, "What is 2+2?", "4");
 * // prompt = [BOS, USER, ...encode("What is 2+2?"), ASSISTANT]; response = [...encode("4"), EOS]
 */
export function encodeChatPair(
  tokenizer: Tokenizer,
  turns: string | readonly ChatTurn[],
  answer: string,
): ChatPair {
  return { prompt: encodeChatPrompt(tokenizer, turns), response: encodeChatAnswer(tokenizer, answer) };
}

/**
 * The text of a generated answer: everything before the first EOS, special tokens dropped.
 * Use it on the ids the sampler produced after the prompt.
 */
export function decodeChatAnswer(tokenizer: Tokenizer, ids: ArrayLike<number>): string {
  const all = Array.from(ids);
  const end = all.indexOf(tokenizer.eosId);
  return tokenizer.decode(end < 0 ? all : all.slice(0, end), { skipSpecial: true });
}
