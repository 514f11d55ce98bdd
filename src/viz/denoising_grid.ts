/**
 * The denoising trace as an HTML grid: one row per step, one cell per answer position, for the playground page
 * and for notebooks (`Deno.jupyter.html`). A cell still masked shows `▒`; a committed cell shows its token,
 * shaded by the confidence with which it was committed, and says that confidence in its `title` (a tooltip) and
 * its `aria-label`, so the grid reads without colour too: the cells a step commits are also bold and underlined,
 * and the block being decoded is outlined.
 *
 * The HTML is self-contained apart from {@link DENOISING_GRID_CSS} (class names prefixed `llada-grid`), so a page
 * includes the style once and a notebook cell sends both together. Rendering is a pure function of the trace:
 * no DOM, so it runs and is tested in Deno.
 *
 * Left out: the prompt's cells (shown once, above the grid, by the caller) and any interactivity (the page's
 * replay slider picks how many rows to render).
 *
 * @module
 */

import type { StepState } from "../llada/reverse_sampling.ts";
import { renderCanvas } from "../tokenizer/render.ts";
import type { Tokenizer } from "../tokenizer/tokenizer.ts";

/** One step of the trace for one row of the batch: what the grid needs from a sampler's `onStep` state. */
export interface GridStep {
  /** Network evaluations so far (0 for the canvas before the first step). */
  nfe: number;
  /** The block decoded at this step, from 0. */
  block: number;
  /** `prompt ‖ answer` after the step, with the mask id where still masked. */
  tokens: readonly number[];
  /** Positions (indices into {@link GridStep.tokens}) committed at this step. */
  committed: readonly number[];
  /** Per position of {@link GridStep.tokens}: the confidence the step used (`−Infinity` where not a candidate). */
  confidence: readonly number[];
}

/** One row of a sampler's step state (`generate`'s or `sample`'s `onStep`) as a {@link GridStep}. */
export function gridStep(state: StepState, row = 0): GridStep {
  return {
    nfe: state.nfe,
    block: state.block,
    tokens: state.tokens[row],
    committed: state.committed[row],
    confidence: state.confidence[row],
  };
}

/** The canvas before the first step: the prompt and `genLength` masks, nothing committed. */
export function initialGridStep(prompt: readonly number[], genLength: number, maskId: number): GridStep {
  const tokens = [...prompt, ...new Array<number>(genLength).fill(maskId)];
  return { nfe: 0, block: 0, tokens, committed: [], confidence: tokens.map(() => -Infinity) };
}

/** Options of {@link denoisingGridHtml}. */
export interface DenoisingGridOptions {
  /** Renders tokens (masks as `▒`, EOS as `¶`, a newline as `↵`; see `tokenizer/render.ts`). */
  tokenizer: Tokenizer;
  /** Prompt tokens at the start of every step's canvas (not drawn). */
  promptLength: number;
  /** Block length of the semi-autoregressive schedule, for the outline of the current block. */
  blockLength: number;
  /** Draw only the first `rows` steps (the replay slider); default all. */
  rows?: number;
  /** The table's accessible caption (default "Denoising trace: one row per step"). */
  caption?: string;
}

/** The grid's style: include once per page (or with each notebook cell's HTML). */
export const DENOISING_GRID_CSS = `
.llada-grid { border-collapse: collapse; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 13px; }
.llada-grid caption { text-align: left; font-weight: 600; padding: 2px 0; white-space: nowrap; }
.llada-grid th { font-weight: normal; text-align: right; padding: 0 6px 0 0; white-space: nowrap; color: #444; }
.llada-grid td { min-width: 0.9em; height: 1.3em; padding: 0 1px; text-align: center; white-space: pre;
  border-top: 2px solid transparent; border-bottom: 2px solid transparent; }
.llada-grid td.masked { color: #999; }
.llada-grid td.new { font-weight: 700; text-decoration: underline; }
.llada-grid td.blk { border-top-color: #b45309; border-bottom-color: #b45309; }
.llada-grid td.blk-first { border-left: 2px solid #b45309; }
.llada-grid td.blk-last { border-right: 2px solid #b45309; }
`;

/** `text` safe inside HTML text and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A confidence as shown in tooltips: three decimals, or "n/a" where the step gave none. */
function formatConfidence(c: number | undefined): string {
  return c !== undefined && Number.isFinite(c) ? c.toFixed(3) : "n/a";
}

/**
 * The shade of a committed cell: the confidence clamped to [0, 1] (the probability of the committed token under
 * `low_confidence`, the top-two margin under `margin`; `entropy`'s negative entropies and other values outside
 * [0, 1] are clamped, their exact value is in the tooltip).
 */
function shade(c: number | undefined): number {
  return c !== undefined && Number.isFinite(c) ? Math.min(1, Math.max(0, c)) : 0;
}

/**
 * The trace as an HTML `<table>`: row `s` is the canvas after step `s` (row 0 the fully masked start), answer
 * positions only. Each committed cell carries the step that committed it and that step's confidence.
 *
 * @example
 * ```ts
 * const steps = [initialGridStep(prompt, 32, tok.maskId)];
 * await sample(model, [prompt], { genLength: 32, steps: 32, maskId: tok.maskId, onStep: (s) => void steps.push(gridStep(s)) });
 * const html = denoisingGridHtml(steps, { tokenizer: tok, promptLength: prompt.length, blockLength: 32 });
 * ```
 */
export function denoisingGridHtml(steps: readonly GridStep[], options: DenoisingGridOptions): string {
  const { tokenizer, promptLength, blockLength } = options;
  const rows = Math.min(steps.length, options.rows ?? steps.length);
  const caption = options.caption ?? "Denoising trace: one row per step";
  // When each position was committed, and with what confidence: carried forward from step to step.
  const committedAt = new Map<number, { nfe: number; confidence: number }>();
  const lines: string[] = [`<table class="llada-grid"><caption>${escapeHtml(caption)}</caption>`];
  for (let s = 0; s < rows; s++) {
    const step = steps[s];
    const fresh = new Set(step.committed);
    for (const i of step.committed) committedAt.set(i, { nfe: step.nfe, confidence: step.confidence[i] });
    const blockStart = promptLength + step.block * blockLength;
    const blockEnd = blockStart + blockLength;
    const cells: string[] = [];
    for (let i = promptLength; i < step.tokens.length; i++) {
      const id = step.tokens[i];
      const classes: string[] = [];
      // Only rows after the start have a current block (row 0 is the canvas before any step).
      if (s > 0 && i >= blockStart && i < blockEnd) {
        classes.push("blk");
        if (i === blockStart) classes.push("blk-first");
        if (i === blockEnd - 1) classes.push("blk-last");
      }
      const text = escapeHtml(renderCanvas(tokenizer, [id]));
      if (id === tokenizer.maskId) {
        classes.push("masked");
        const label = `position ${i - promptLength}: masked`;
        cells.push(`<td class="${classes.join(" ")}" title="${label}" aria-label="${label}">${text}</td>`);
        continue;
      }
      if (fresh.has(i)) classes.push("new");
      const at = committedAt.get(i);
      const label = at
        ? `position ${i - promptLength}: ${text} committed at NFE ${at.nfe}, confidence ${
          formatConfidence(at.confidence)
        }`
        : `position ${i - promptLength}: ${text}`;
      const alpha = 0.15 + 0.6 * shade(at?.confidence);
      cells.push(
        `<td class="${classes.join(" ")}" style="background: rgba(37, 99, 235, ${alpha.toFixed(3)})" ` +
          `title="${label}" aria-label="${label}">${text}</td>`,
      );
    }
    lines.push(`<tr><th scope="row">NFE ${step.nfe}</th>${cells.join("")}</tr>`);
  }
  lines.push("</table>");
  return lines.join("\n");
}
