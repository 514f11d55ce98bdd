/**
 * The train tab's live chart as an SVG string: the training loss of every step as a line, the held-out bound as
 * points joined by a dashed line, each with a legend entry in words (not only colour), on a shared step axis.
 *
 * @module
 */

import { escapeHtml } from "../viz/denoising_grid.ts";

/** One point of the chart: a step's training loss, or the held-out bound measured after it. */
export interface LossPoint {
  /** Optimisation steps taken (0: before training). */
  step: number;
  /** The step's training loss (Eq. 3, nats per token). */
  loss?: number;
  /** The held-out bound (Eq. 4, bits per character). */
  bound?: number;
}

const WIDTH = 640;
const HEIGHT = 260;
const PAD = { left: 48, right: 12, top: 24, bottom: 32 };

/** The chart of `points` (an empty frame with a note when there are none yet). */
export function lossChartSvg(points: readonly LossPoint[]): string {
  const values = points.flatMap((p) => [p.loss, p.bound]).filter((v): v is number => v !== undefined);
  const lastStep = Math.max(1, ...points.map((p) => p.step));
  const top = values.length > 0 ? Math.max(...values) * 1.05 : 1;
  const x = (step: number) => PAD.left + (step / lastStep) * (WIDTH - PAD.left - PAD.right);
  const y = (v: number) => HEIGHT - PAD.bottom - (v / top) * (HEIGHT - PAD.top - PAD.bottom);
  const path = (key: "loss" | "bound") =>
    points.filter((p) => p[key] !== undefined).map((p) => `${x(p.step).toFixed(1)},${y(p[key]!).toFixed(1)}`)
      .join(" ");
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * top);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" ` +
    `aria-label="${escapeHtml(summary(points))}">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    ...ticks.map((v) =>
      `<line x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>` +
      `<text x="${PAD.left - 6}" y="${y(v) + 4}" font-size="11" text-anchor="end">${v.toFixed(2)}</text>`
    ),
    `<text x="${WIDTH / 2}" y="${
      HEIGHT - 6
    }" font-size="12" text-anchor="middle">step (of ${lastStep})</text>`,
    `<polyline fill="none" stroke="#2563eb" stroke-width="1.5" points="${path("loss")}"/>`,
    `<polyline fill="none" stroke="#b45309" stroke-width="2" stroke-dasharray="6 4" points="${
      path("bound")
    }"/>`,
    ...points.filter((p) => p.bound !== undefined).map((p) =>
      `<circle cx="${x(p.step)}" cy="${y(p.bound!)}" r="3.5" fill="#b45309"/>`
    ),
    `<line x1="${PAD.left + 10}" x2="${PAD.left + 40}" y1="12" y2="12" stroke="#2563eb" stroke-width="1.5"/>`,
    `<text x="${PAD.left + 46}" y="16" font-size="12">training loss (nats/token, solid)</text>`,
    `<line x1="${PAD.left + 280}" x2="${PAD.left + 310}" y1="12" y2="12" stroke="#b45309" stroke-width="2" ` +
    `stroke-dasharray="6 4"/>`,
    `<text x="${PAD.left + 316}" y="16" font-size="12">held-out bound (bits/char, dashed)</text>`,
    "</svg>",
  ];
  return parts.join("\n");
}

/** The chart in one sentence, for screen readers. */
function summary(points: readonly LossPoint[]): string {
  const losses = points.filter((p) => p.loss !== undefined);
  const bounds = points.filter((p) => p.bound !== undefined);
  if (losses.length === 0) return "No training steps yet.";
  const first = losses[0].loss!.toFixed(3);
  const last = losses.at(-1)!.loss!.toFixed(3);
  const bound = bounds.length > 0
    ? `; held-out bound ${bounds.at(-1)!.bound!.toFixed(3)} bits per character`
    : "";
  return `Training loss from ${first} to ${last} over ${losses.length} steps${bound}.`;
}
