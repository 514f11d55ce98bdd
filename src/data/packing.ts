/**
 * Packing documents into fixed-length training rows, with EOS between documents.
 *
 * LLaDA pre-trains on sequences of a fixed length `L` (4096 in the paper) cut from one long stream of
 * documents, each followed by EOS:
 *
 * ```
 * stream = doc₀ EOS doc₁ EOS doc₂ EOS …      rows = stream[0:L], stream[L:2L], …     tokens: [n, L]
 * ```
 *
 * A row may start or end in the middle of a document and may hold several; the EOS tells the model where one
 * ends. Nothing is wasted on padding, which is why the paper packs rather than pads (padding is for SFT, see
 * `sft.ts`).
 *
 * @module
 */

import { EOS_ID } from "../tokenizer/special.ts";

/** Token rows of equal length: `tokens` is row-major `[rows, length]`. */
export interface TokenRows {
  /** Row-major `[rows, length]` token ids. */
  tokens: Int32Array;
  /** Number of rows. */
  rows: number;
  /** Tokens per row. */
  length: number;
}

/** Options for {@link packSequences}. */
export interface PackOptions {
  /** The separator written after every document. Default {@link EOS_ID}. */
  eosId?: number;
  /**
   * What to do with the stream's last `< length` tokens: `"drop"` them (default; at most `length − 1` tokens
   * are lost) or `"pad"` them to a full row with EOS.
   */
  remainder?: "drop" | "pad";
}

/**
 * Concatenates `docs`, each followed by EOS, and cuts the stream into rows of `length` tokens.
 *
 * @param docs token ids of each document (e.g. `texts.map((t) => tokenizer.encode(t))`).
 * @param length tokens per row, `L`.
 * @returns rows `[n, L]` with `n = ⌊S / L⌋` (`"drop"`) or `⌈S / L⌉` (`"pad"`), `S` the stream length.
 * @throws when `"drop"` would leave no row at all (the stream is shorter than `length`).
 *
 * @example
 * packSequences([[7, 8, 9], [10, 11]], 4).tokens; // Int32Array [7, 8, 9, 1] (row 2, [10, 11, 1], is dropped)
 */
export function packSequences(
  docs: readonly ArrayLike<number>[],
  length: number,
  options: PackOptions = {},
): TokenRows {
  const { eosId = EOS_ID, remainder = "drop" } = options;
  if (!Number.isInteger(length) || length < 1) {
    throw new Error(`packSequences: length must be a positive integer, got ${length}`);
  }
  let streamLength = 0;
  for (const doc of docs) streamLength += doc.length + 1;
  const rows = remainder === "pad" ? Math.ceil(streamLength / length) : Math.floor(streamLength / length);
  if (rows === 0 && remainder === "drop") {
    throw new Error(
      `packSequences: the stream has ${streamLength} tokens, fewer than one row of ${length}; ` +
        `use shorter rows, more text, or { remainder: "pad" }`,
    );
  }
  // Fill with EOS first: the separators and any padding are then already in place.
  const tokens = new Int32Array(rows * length).fill(eosId);
  const capacity = tokens.length;
  let at = 0;
  for (const doc of docs) {
    if (at >= capacity) break;
    const n = Math.min(doc.length, capacity - at);
    for (let i = 0; i < n; i++) tokens[at + i] = doc[i];
    at += doc.length + 1; // skip over the EOS already written
  }
  return { tokens, rows, length };
}

/**
 * Packs whole documents: each row takes documents (each followed by EOS) while they fit, and the rest of the row
 * is EOS. No document is cut across rows, which matters when a document is one fact that must be seen whole (the
 * reversal experiment's items); the price is some EOS padding at the end of rows.
 *
 * @throws when a document and its EOS are longer than a row.
 * @example
 * packWhole([[7, 8], [9, 10], [11, 12, 13]], 6).tokens; // rows [7, 8, 1, 9, 10, 1] and [11, 12, 13, 1, 1, 1]
 */
export function packWhole(
  docs: readonly ArrayLike<number>[],
  length: number,
  eosId: number = EOS_ID,
): TokenRows {
  if (!Number.isInteger(length) || length < 2) {
    throw new Error(`packWhole: length must be an integer ≥ 2, got ${length}`);
  }
  const rows: number[][] = [];
  let row: number[] = [];
  docs.forEach((doc, i) => {
    if (doc.length + 1 > length) {
      throw new Error(
        `packWhole: document ${i} has ${doc.length} tokens, more than a row of ${length} holds with its EOS; ` +
          `use longer rows`,
      );
    }
    if (row.length + doc.length + 1 > length) {
      rows.push(row);
      row = [];
    }
    row.push(...Array.from(doc), eosId);
  });
  if (row.length > 0) rows.push(row);
  const tokens = new Int32Array(rows.length * length).fill(eosId);
  rows.forEach((r, i) => tokens.set(r, i * length));
  return { tokens, rows: rows.length, length };
}
