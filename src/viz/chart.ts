/**
 * Charts as SVG text, for the notebooks (`image/svg+xml` outputs, which a code-hosting site shows as pictures)
 * and any page: a small typed layer over Vega-Lite, which compiles a chart description to a Vega spec, and Vega,
 * which renders it to SVG headlessly (`renderer: "none"`, no DOM, no canvas). The same data always gives the
 * same SVG, so a notebook's committed charts can be compared with a fresh run.
 *
 * Four shapes cover the lessons: lines (curves over steps or sample counts), points (one quantity against
 * another), bars (a value per label, optionally grouped), and a heatmap (a value per cell of a grid). Anything
 * else can go through {@link vegaLiteSvg} with a full Vega-Lite spec.
 *
 * Left out: interactivity (tooltips, zoom), which needs a browser, and themes beyond Vega's default look.
 *
 * @module
 */

import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

/** One named curve or point set: `x[i]` against `y[i]`. */
export interface Series {
  /** Shown in the legend (omitted when the chart has a single series). */
  name: string;
  x: readonly number[];
  y: readonly number[];
}

/** Axis scale: linear, or logarithmic (base 10) for values spanning decades. */
export type ScaleKind = "linear" | "log";

/** Options shared by the charts. */
export interface ChartOptions {
  /** Shown above the chart. */
  title?: string;
  /** The x axis title. */
  xTitle: string;
  /** The y axis title. */
  yTitle: string;
  /** Plot width in pixels, axes and legend excluded (default 420). */
  width?: number;
  /** Plot height in pixels (default 220). */
  height?: number;
}

/** Options of {@link lineChartSvg} and {@link scatterChartSvg}. */
export interface XYChartOptions extends ChartOptions {
  /** Default "linear". */
  xScale?: ScaleKind;
  /** Default "linear". */
  yScale?: ScaleKind;
  /** Start the y axis at zero (default false: fit the data). */
  yZero?: boolean;
  /** Draw the line `y = x` across the data's range, dashed: for a quantity plotted against its reference. */
  diagonal?: boolean;
}

/** Options of {@link barChartSvg}. */
export interface BarChartOptions extends ChartOptions {
  /** Bars run left to right, labels down the side: for long labels (default false: upright bars). */
  horizontal?: boolean;
}

/** One bar: `value` at `label`, in the colour of `group` when bars are grouped. */
export interface Bar {
  label: string;
  value: number;
  group?: string;
}

/** One cell of a heatmap: `value` at column `x`, row `y`. */
export interface HeatCell {
  x: string | number;
  y: string | number;
  value: number;
}

/** Options of {@link heatmapSvg}. */
export interface HeatmapOptions extends ChartOptions {
  /** The colour legend's title (default "value"). */
  valueTitle?: string;
  /** Column order (default: first appearance). */
  xOrder?: readonly (string | number)[];
  /** Row order (default: first appearance). */
  yOrder?: readonly (string | number)[];
}

/**
 * Renders a Vega-Lite spec to SVG text: compile to Vega, run the dataflow headlessly, serialize the scene.
 *
 * @example
 * ```ts
 * const svg = await vegaLiteSvg({ data: { values: [{ a: 1 }] }, mark: "point", encoding: { x: { field: "a" } } });
 * ```
 */
export async function vegaLiteSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Every point of every series as one row of a Vega data table, after checking the lengths agree. */
function seriesRows(fn: string, series: readonly Series[]): { series: string; x: number; y: number }[] {
  if (series.length === 0) throw new Error(`${fn}: expected at least one series`);
  const rows: { series: string; x: number; y: number }[] = [];
  for (const s of series) {
    if (s.x.length !== s.y.length) {
      throw new Error(
        `${fn}: series "${s.name}" has ${s.x.length} x values but ${s.y.length} y values; give one y per x`,
      );
    }
    s.x.forEach((x, i) => rows.push({ series: s.name, x, y: s.y[i] }));
  }
  return rows;
}

/** The spec shared by lines and points: one colour per series, the legend only when there are several. */
function xySpec(
  fn: string,
  series: readonly Series[],
  options: XYChartOptions,
  mark: "line" | "point",
): TopLevelSpec {
  const values = seriesRows(fn, series);
  const scale = (kind: ScaleKind | undefined, zero: boolean) =>
    kind === "log" ? { type: "log" as const } : { zero };
  const x = {
    field: "x",
    type: "quantitative" as const,
    title: options.xTitle,
    scale: scale(options.xScale, false),
  };
  const y = {
    field: "y",
    type: "quantitative" as const,
    title: options.yTitle,
    scale: scale(options.yScale, options.yZero ?? false),
  };
  const data = {
    data: { values },
    mark: mark === "line"
      ? { type: "line" as const, point: values.length <= 60 }
      : { type: "point" as const, filled: true },
    encoding: {
      x,
      y,
      ...(series.length > 1
        ? {
          color: {
            field: "series",
            type: "nominal" as const,
            title: null,
            sort: series.map((s) => s.name),
            legend: { labelLimit: 320 },
          },
        }
        : {}),
    },
  };
  const frame = {
    ...(options.title ? { title: options.title } : {}),
    width: options.width ?? 420,
    height: options.height ?? 220,
  };
  if (!options.diagonal) return { ...frame, ...data };
  const all = values.flatMap((v) => [v.x, v.y]);
  const ends = [Math.min(...all), Math.max(...all)].map((v) => ({ x: v, y: v }));
  return {
    ...frame,
    layer: [
      {
        data: { values: ends },
        mark: { type: "line", color: "#888", strokeDash: [4, 4] },
        encoding: { x, y },
      },
      data,
    ],
  };
}

/**
 * Curves: each series drawn as a line through its points (in the order given), with a dot at each point when
 * there are at most 60 of them in all.
 *
 * @example
 * ```ts
 * const svg = await lineChartSvg([{ name: "loss", x: [1, 2, 3], y: [3.1, 2.4, 2.2] }], { xTitle: "step", yTitle: "loss" });
 * ```
 */
export async function lineChartSvg(series: readonly Series[], options: XYChartOptions): Promise<string> {
  return await vegaLiteSvg(xySpec("lineChartSvg", series, options, "line"));
}

/** Points without lines: each series a colour. */
export async function scatterChartSvg(series: readonly Series[], options: XYChartOptions): Promise<string> {
  return await vegaLiteSvg(xySpec("scatterChartSvg", series, options, "point"));
}

/**
 * Bars, one per label in the order given; with groups, the bars of a label stand side by side, one colour per
 * group. `xTitle` names the labels' axis and `yTitle` the values' axis, whichever way the bars run.
 */
export async function barChartSvg(bars: readonly Bar[], options: BarChartOptions): Promise<string> {
  if (bars.length === 0) throw new Error("barChartSvg: expected at least one bar");
  const grouped = bars.some((b) => b.group !== undefined);
  const labels = [...new Set(bars.map((b) => b.label))];
  const groups = [...new Set(bars.map((b) => b.group ?? ""))];
  const label = {
    field: "label",
    type: "nominal" as const,
    title: options.xTitle,
    sort: labels,
    axis: { labelAngle: 0, labelLimit: 260 },
  };
  const value = { field: "value", type: "quantitative" as const, title: options.yTitle };
  const groupBy = { field: "group", type: "nominal" as const, sort: groups };
  return await vegaLiteSvg({
    ...(options.title ? { title: options.title } : {}),
    width: options.width ?? 420,
    height: options.height ?? 220,
    data: { values: bars.map((b) => ({ label: b.label, value: b.value, group: b.group ?? "" })) },
    mark: "bar",
    encoding: {
      ...(options.horizontal ? { y: label, x: value } : { x: label, y: value }),
      ...(grouped
        ? {
          [options.horizontal ? "yOffset" : "xOffset"]: groupBy,
          color: { ...groupBy, title: null },
        }
        : {}),
    },
  });
}

/** A grid of cells coloured by value (for example an attention map: rows are queries, columns keys). */
export async function heatmapSvg(cells: readonly HeatCell[], options: HeatmapOptions): Promise<string> {
  if (cells.length === 0) throw new Error("heatmapSvg: expected at least one cell");
  const order = (given: readonly (string | number)[] | undefined, key: "x" | "y") =>
    (given ?? [...new Set(cells.map((c) => c[key]))]).map(String);
  return await vegaLiteSvg({
    ...(options.title ? { title: options.title } : {}),
    width: options.width ?? 420,
    height: options.height ?? 220,
    data: { values: cells.map((c) => ({ x: String(c.x), y: String(c.y), value: c.value })) },
    mark: "rect",
    encoding: {
      x: { field: "x", type: "ordinal", title: options.xTitle, sort: order(options.xOrder, "x") },
      y: { field: "y", type: "ordinal", title: options.yTitle, sort: order(options.yOrder, "y") },
      color: { field: "value", type: "quantitative", title: options.valueTitle ?? "value" },
    },
  });
}
