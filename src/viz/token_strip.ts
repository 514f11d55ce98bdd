/**
 * Token strips: rows of tokens as an HTML table, one cell per token, masked cells dark, prompt cells tinted, so a
 * corruption (which positions the forward process masked, and which it spared) is seen at a glance. Each row has
 * a label on its left (for example the masking probability that produced it).
 *
 * Styles are inline, not in a `<style>` block, because notebook viewers on code-hosting sites drop style
 * blocks; every cell also says what it is in its `title` (a tooltip, which screen readers announce too), so the
 * strip reads without colour. The per-cell markup is kept short: a notebook stores every cell of every strip.
 * A pure function of its input: no DOM.
 *
 * @module
 */

import { renderCanvas } from "../tokenizer/render.ts";
import type { Tokenizer } from "../tokenizer/tokenizer.ts";
import { escapeHtml } from "./denoising_grid.ts";

/** One token of a strip. */
export interface StripCell {
  /** The token as shown (already rendered: masks, newlines and EOS as visible characters). */
  text: string;
  /** A masked position: drawn dark. */
  masked?: boolean;
  /** A prompt position (never masked by SFT corruption): drawn tinted. */
  prompt?: boolean;
}

/** One labelled row of a strip. */
export interface StripRow {
  label: string;
  cells: readonly StripCell[];
}

/** Options of {@link tokenStripHtml}. */
export interface TokenStripOptions {
  /** The table's caption (default none). */
  caption?: string;
}

const TABLE_STYLE = "border-collapse: separate; border-spacing: 1px; font-family: ui-monospace, Menlo, " +
  "Consolas, monospace; font-size: 12px";
const LABEL_STYLE =
  "font-weight: normal; text-align: right; padding: 0 6px 0 0; white-space: nowrap; color: #444";
const CELL_STYLE = "padding:1px 2px;white-space:pre";

/** The inline style of one cell: dark for masks, amber for the prompt, light grey for visible answer tokens. */
function cellStyle(cell: StripCell): string {
  if (cell.masked) return `${CELL_STYLE};background:#1f2937;color:#f9fafb`;
  if (cell.prompt) return `${CELL_STYLE};background:#fde68a;color:#111`;
  return `${CELL_STYLE};background:#e5e7eb;color:#111`;
}

/**
 * The cells of one row of token ids: each id rendered by {@link renderCanvas} (masks as `▒`), masked where the
 * id is the tokenizer's mask id, prompt for the first `promptLength` positions.
 *
 * @example
 * ```ts
 * const row = { label: "t = 0.5", cells: stripCells(tok, noisy, { promptLength: 4 }) };
 * ```
 */
export function stripCells(
  tokenizer: Tokenizer,
  ids: ArrayLike<number>,
  options: { promptLength?: number } = {},
): StripCell[] {
  const promptLength = options.promptLength ?? 0;
  return Array.from(ids, (id, i) => ({
    text: renderCanvas(tokenizer, [id]),
    masked: id === tokenizer.maskId,
    prompt: i < promptLength,
  }));
}

/**
 * The rows as an HTML `<table>`: a row header with the label, then one cell per token. Token text and labels
 * are escaped, so any text is safe to show.
 */
export function tokenStripHtml(rows: readonly StripRow[], options: TokenStripOptions = {}): string {
  const lines = [`<table style="${TABLE_STYLE}">`];
  if (options.caption) {
    lines.push(
      `<caption style="text-align: left; font-weight: 600">${escapeHtml(options.caption)}</caption>`,
    );
  }
  for (const row of rows) {
    const cells = row.cells.map((cell, i) => {
      const text = escapeHtml(cell.text);
      const what = cell.masked ? "masked" : cell.prompt ? `prompt ${text}` : text;
      return `<td style="${cellStyle(cell)}" title="${i}: ${what}">${text}</td>`;
    });
    lines.push(
      `<tr><th scope="row" style="${LABEL_STYLE}">${escapeHtml(row.label)}</th>${cells.join("")}</tr>`,
    );
  }
  lines.push("</table>");
  return lines.join("\n");
}
