/**
 * Hugging Face's `tokenizers` JSON format (the `tokenizer.json` that `tokenizers.Tokenizer.from_file`,
 * transformers' `PreTrainedTokenizerFast` and transformers.js read), written for both llada-ts tokenizers and
 * read back exactly.
 *
 * How each tokenizer is expressed in that format:
 *
 * | llada-ts            | `model`                                   | `pre_tokenizer`                                    | `decoder`   |
 * |---------------------|-------------------------------------------|----------------------------------------------------|-------------|
 * | {@link BpeTokenizer}  | BPE: the 256 bytes and every merge, `merges` in rank order | `Split` on the split pattern, then `ByteLevel` | `ByteLevel` |
 * | {@link CharTokenizer} | BPE with no merges: one token per character; `unk_token` is the fallback symbol | none (the whole text is one word) | `Fuse` |
 *
 * Byte-level tokens are spelled with GPT-2's byte-to-character table (byte `0x20` is `Ġ`), as in every
 * byte-level `tokenizer.json`; llada-ts's own ids stay the same (special tokens 0–4, byte `b` at `5 + b`, merge
 * `i` at `261 + i`). The special tokens are `added_tokens` with `special: true`.
 *
 * Where the two libraries differ, by design on llada-ts's side:
 * - Hugging Face finds special-token strings in the input (`"<|eos|>"` encodes to id 1); llada-ts never does
 *   (see `special.ts`), so prompts cannot smuggle in a mask.
 * - A character outside a {@link CharTokenizer}'s vocabulary without a fallback symbol is an error here; a
 *   Hugging Face BPE model without `unk_token` drops it.
 *
 * One BPE tokenizer cannot be written this way: one where two merges spell the same bytes (possible in
 * minbpe-style training, rare in practice), because the format keys its vocabulary by the token's text.
 * {@link BpeTokenizer.toJSON} then writes llada-ts's own form, which {@link tokenizerFromJSON} reads too.
 *
 * @module
 */

import { NUM_SPECIAL_TOKENS, SPECIAL_TOKENS } from "./special.ts";

/** Id of byte 0 in a byte-level BPE vocabulary (as in `bpe.ts`, which imports this module). */
const BYTE_OFFSET = NUM_SPECIAL_TOKENS;

/** One entry of `added_tokens`: a token matched in the raw text before the model runs. */
export interface HfAddedToken {
  /** The token's id. */
  id: number;
  /** Its text. */
  content: string;
  /** Matched only as a whole word. */
  single_word: boolean;
  /** Swallows whitespace on its left. */
  lstrip: boolean;
  /** Swallows whitespace on its right. */
  rstrip: boolean;
  /** Matched after normalisation. */
  normalized: boolean;
  /** A special token (`skip_special_tokens` drops it when decoding). */
  special: boolean;
}

/** The `model` section: a BPE model. */
export interface HfBpeModel {
  /** Always `"BPE"`. */
  type: "BPE";
  /** BPE dropout (not used: null). */
  dropout: null;
  /** Token for characters outside the vocabulary, or null. */
  unk_token: string | null;
  /** Prefix of word-internal tokens (not used: null). */
  continuing_subword_prefix: null;
  /** Suffix of word-final tokens (not used: null). */
  end_of_word_suffix: null;
  /** Fuse consecutive unknown tokens (false). */
  fuse_unk: boolean;
  /** Spell unknown characters as `<0xNN>` byte tokens (false: byte-level BPE has every byte already). */
  byte_fallback: boolean;
  /** Take a word found whole in the vocabulary without merging (false: merges decide, as in llada-ts). */
  ignore_merges: boolean;
  /** Token text → id. */
  vocab: Record<string, number>;
  /** The merges in rank order, each `"left right"`. */
  merges: string[];
}

/** A pre-tokenizer or decoder section: its `type` and its settings. */
export interface HfComponent {
  /** The component's name, e.g. `"ByteLevel"`, `"Split"`, `"Sequence"`, `"Fuse"`. */
  type: string;
  /** Its settings, as the format names them. */
  [setting: string]: unknown;
}

/** A Hugging Face `tokenizer.json` as llada-ts writes it. */
export interface HfTokenizerJSON {
  /** The format's version, `"1.0"`. */
  version: "1.0";
  /** No truncation. */
  truncation: null;
  /** No padding. */
  padding: null;
  /** LLaDA's five special tokens, at ids 0–4. */
  added_tokens: HfAddedToken[];
  /** No normalisation. */
  normalizer: null;
  /** How text is split before the model (null: one piece). */
  pre_tokenizer: HfComponent | null;
  /** No post-processing (no BOS/EOS added by the tokenizer: LLaDA's code adds them). */
  post_processor: null;
  /** How tokens are joined back into text. */
  decoder: HfComponent;
  /** The BPE model. */
  model: HfBpeModel;
}

/** GPT-2's byte → printable character table, and its inverse. */
const BYTE_TO_CHAR: string[] = [];
const CHAR_TO_BYTE = new Map<string, number>();
{
  // Printable Latin-1 bytes stand for themselves; the other 68 take the code points from 256 upwards.
  const printable = (b: number) =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let next = 256;
  for (let b = 0; b < 256; b++) {
    BYTE_TO_CHAR[b] = String.fromCodePoint(printable(b) ? b : next++);
    CHAR_TO_BYTE.set(BYTE_TO_CHAR[b], b);
  }
}

/** The byte-level spelling of `bytes` (GPT-2's table). */
export function byteLevelText(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += BYTE_TO_CHAR[b];
  return s;
}

function addedTokens(): HfAddedToken[] {
  return SPECIAL_TOKENS.map((content, id) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
}

function bpeModel(vocab: Record<string, number>, merges: string[], unk: string | null): HfBpeModel {
  return {
    type: "BPE",
    dropout: null,
    unk_token: unk,
    continuing_subword_prefix: null,
    end_of_word_suffix: null,
    fuse_unk: false,
    byte_fallback: false,
    ignore_merges: false,
    vocab,
    merges,
  };
}

function specialVocab(): Record<string, number> {
  const vocab: Record<string, number> = {};
  SPECIAL_TOKENS.forEach((s, id) => vocab[s] = id);
  return vocab;
}

/** The Hugging Face form of a character tokenizer (`symbols[i]` has id `5 + i`). */
export function charToHuggingFace(symbols: readonly string[], unknown: string | null): HfTokenizerJSON {
  const vocab = specialVocab();
  symbols.forEach((s, i) => vocab[s] = NUM_SPECIAL_TOKENS + i);
  return hfTokenizer(null, { type: "Fuse" }, bpeModel(vocab, [], unknown));
}

/**
 * The Hugging Face form of a byte-level BPE tokenizer, or null when two of its tokens spell the same bytes
 * (or one spells a special token's text), which that format cannot hold.
 *
 * @param tokenBytes the bytes of every content id, from `BYTE_OFFSET` on (bytes first, then merges).
 */
export function bpeToHuggingFace(
  pattern: string | null,
  merges: readonly (readonly [number, number])[],
  tokenBytes: (id: number) => Uint8Array,
): HfTokenizerJSON | null {
  const vocab = specialVocab();
  const text: string[] = [];
  const total = BYTE_OFFSET + 256 + merges.length;
  for (let id = BYTE_OFFSET; id < total; id++) {
    const t = byteLevelText(tokenBytes(id));
    if (Object.hasOwn(vocab, t)) return null;
    vocab[t] = id;
    text[id] = t;
  }
  const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false };
  const preTokenizer = pattern === null ? byteLevel : {
    type: "Sequence",
    pretokenizers: [
      { type: "Split", pattern: { Regex: pattern }, behavior: "Isolated", invert: false },
      byteLevel,
    ],
  };
  return hfTokenizer(
    preTokenizer,
    { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    bpeModel(vocab, merges.map(([l, r]) => `${text[l]} ${text[r]}`), null),
  );
}

/** A whole `tokenizer.json`: LLaDA's special tokens added, no normaliser or post-processor, the given parts. */
function hfTokenizer(
  preTokenizer: HfTokenizerJSON["pre_tokenizer"],
  decoder: HfTokenizerJSON["decoder"],
  model: HfTokenizerJSON["model"],
): HfTokenizerJSON {
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: addedTokens(),
    normalizer: null,
    pre_tokenizer: preTokenizer,
    post_processor: null,
    decoder,
    model,
  };
}

/** What {@link parseHuggingFace} found: the data a llada-ts tokenizer is built from. */
export type ParsedHf =
  | { type: "char"; symbols: string[]; unknown: string | null }
  | { type: "bpe"; pattern: string | null; merges: [number, number][] };

/** True when `json` looks like a Hugging Face `tokenizer.json` (it has a `model` section). */
export function isHuggingFaceJSON(json: unknown): boolean {
  return typeof json === "object" && json !== null && "model" in json && "added_tokens" in json;
}

/**
 * Reads a Hugging Face `tokenizer.json` written by llada-ts back into the data of a llada-ts tokenizer.
 *
 * @throws when the file uses components or an id layout that llada-ts does not write (LLaDA's five special
 *   tokens at ids 0–4, then characters or bytes and merges); the message says which part differs.
 */
export function parseHuggingFace(json: unknown): ParsedHf {
  const j = json as Partial<HfTokenizerJSON>;
  const fail = (what: string): never => {
    throw new Error(
      `tokenizer.json (Hugging Face format): ${what}; llada-ts reads the files it writes: a BPE model with ` +
        `LLaDA's five special tokens at ids 0-4, then characters (Fuse decoder) or bytes and merges ` +
        `(ByteLevel decoder)`,
    );
  };
  const model = j.model;
  if (!model || model.type !== "BPE" || typeof model.vocab !== "object" || !Array.isArray(model.merges)) {
    fail(`expected model.type "BPE" with vocab and merges, got model.type ${JSON.stringify(model?.type)}`);
  }
  const vocab = model!.vocab;
  SPECIAL_TOKENS.forEach((s, id) => {
    if (vocab[s] !== id) fail(`special token ${s} must have id ${id}, has ${vocab[s]}`);
  });
  const byId: string[] = [];
  for (const [t, id] of Object.entries(vocab)) {
    if (!Number.isInteger(id) || id < 0) fail(`token ${JSON.stringify(t)} has id ${id}`);
    if (byId[id] !== undefined) {
      fail(`id ${id} is given to both ${JSON.stringify(byId[id])} and ${JSON.stringify(t)}`);
    }
    byId[id] = t;
  }
  for (let id = 0; id < byId.length; id++) if (byId[id] === undefined) fail(`no token has id ${id}`);
  const decoder = (j.decoder as HfComponent | undefined)?.type;

  if (decoder === "Fuse") {
    if (model!.merges.length > 0) fail("a character tokenizer (Fuse decoder) has no merges");
    return { type: "char", symbols: byId.slice(NUM_SPECIAL_TOKENS), unknown: model!.unk_token ?? null };
  }
  if (decoder !== "ByteLevel") fail(`unsupported decoder ${JSON.stringify(decoder)}`);

  for (let b = 0; b < 256; b++) {
    if (byId[BYTE_OFFSET + b] !== BYTE_TO_CHAR[b]) fail(`id ${BYTE_OFFSET + b} must be byte ${b}`);
  }
  const merges: [number, number][] = model!.merges.map((m, i) => {
    const parts = typeof m === "string" ? m.split(" ") : m as unknown as string[];
    if (parts.length !== 2) fail(`merge ${i} ${JSON.stringify(m)} is not two tokens`);
    const [l, r] = parts.map((p) => vocab[p]);
    const id = BYTE_OFFSET + 256 + i;
    if (l === undefined || r === undefined || vocab[parts[0] + parts[1]] !== id) {
      fail(`merge ${i} ${JSON.stringify(m)} must join two known tokens into id ${id}`);
    }
    return [l, r];
  });
  if (byId.length !== BYTE_OFFSET + 256 + merges.length) {
    fail(`expected ${BYTE_OFFSET + 256 + merges.length} ids (specials, bytes, merges), got ${byId.length}`);
  }
  return { type: "bpe", pattern: splitPattern(j.pre_tokenizer ?? null, fail), merges };
}

/** The split pattern of a `ByteLevel` or `Sequence[Split, ByteLevel]` pre-tokenizer (null for `ByteLevel`). */
function splitPattern(pre: HfComponent | null, fail: (what: string) => never): string | null {
  if (pre?.type === "ByteLevel" && pre.use_regex === false) return null;
  const steps = pre?.type === "Sequence" ? pre.pretokenizers as HfComponent[] : [];
  const [split, bytes] = steps;
  const regex = (split?.pattern as { Regex?: unknown } | undefined)?.Regex;
  if (
    steps.length !== 2 || split.type !== "Split" || typeof regex !== "string" ||
    split.behavior !== "Isolated" ||
    split.invert !== false || bytes.type !== "ByteLevel" || bytes.use_regex !== false
  ) {
    fail("expected the pre-tokenizer Sequence[Split (Isolated), ByteLevel (use_regex false)] or ByteLevel");
  }
  return regex as string;
}
