/** The SVG charts: the marks, axis titles and legend entries that the data asks for, and input errors. */

import assert from "node:assert/strict";
import { barChartSvg, heatmapSvg, lineChartSvg, scatterChartSvg } from "../src/viz/chart.ts";

/** How many times `needle` occurs in `text`. */
const count = (text: string, needle: string) => text.split(needle).length - 1;

Deno.test("lineChartSvg draws one line per series, with the axis titles and a legend for several series", async () => {
  const svg = await lineChartSvg([
    { name: "exactly-l", x: [1, 2, 4], y: [3, 2, 1] },
    { name: "iid-t", x: [1, 2, 4], y: [9, 5, 2] },
  ], { xTitle: "samples n", yTitle: "variance", xScale: "log", title: "Two estimators" });
  assert.ok(svg.startsWith("<svg"), svg.slice(0, 80));
  assert.equal(count(svg, 'aria-roledescription="line mark"'), 2, "one line per series");
  assert.equal(count(svg, 'aria-roledescription="point"'), 6, "a dot per point");
  assert.equal(count(svg, 'role-legend-label"'), 2, "a legend entry per series");
  for (const text of ["samples n", "variance", "Two estimators", "exactly-l", "iid-t"]) {
    assert.ok(svg.includes(`>${text}</text>`), `expected the text "${text}" in the SVG`);
  }
  // The x scale is logarithmic: the tick labels are powers, not 1, 1.5, 2, …
  assert.ok(!svg.includes(">1.5</text>"), "a log axis has no tick at 1.5");
});

Deno.test("lineChartSvg: a single series has no legend; the same data gives the same SVG", async () => {
  const series = [{ name: "loss", x: [0, 10, 20], y: [4, 3, 2.5] }];
  const a = await lineChartSvg(series, { xTitle: "step", yTitle: "loss" });
  const b = await lineChartSvg(series, { xTitle: "step", yTitle: "loss" });
  assert.equal(a, b);
  assert.equal(count(a, ">loss</text>"), 1, "the name appears only as the y title");
  assert.equal(count(a, "role-legend"), 0);
});

Deno.test("scatterChartSvg draws one symbol per point", async () => {
  const svg = await scatterChartSvg([{ name: "runs", x: [1, 2, 3, 4], y: [1, 4, 9, 16] }], {
    xTitle: "x",
    yTitle: "x squared",
  });
  assert.equal(count(svg, 'aria-roledescription="point"'), 4);
  assert.ok(svg.includes(">x squared</text>"));
});

Deno.test("scatterChartSvg with diagonal adds one dashed line y = x under the points", async () => {
  const svg = await scatterChartSvg([{ name: "a", x: [1, 3], y: [2, 5] }], {
    xTitle: "x",
    yTitle: "y",
    diagonal: true,
  });
  assert.equal(count(svg, 'aria-roledescription="point"'), 2);
  assert.equal(count(svg, 'aria-roledescription="line mark"'), 1);
  assert.ok(svg.includes('stroke-dasharray="4,4"'), "the diagonal is dashed");
  assert.ok(svg.indexOf('aria-roledescription="line mark"') < svg.indexOf('aria-roledescription="point"'));
});

Deno.test("barChartSvg draws one rect per bar and keeps the labels in the order given", async () => {
  const svg = await barChartSvg([
    { label: "matmul", value: 5 },
    { label: "softmax", value: 2 },
    { label: "add", value: 1 },
  ], { xTitle: "kernel", yTitle: "ms" });
  assert.equal(count(svg, 'aria-roledescription="bar"'), 3);
  const at = (label: string) => svg.indexOf(`>${label}</text>`);
  assert.ok(at("matmul") >= 0 && at("matmul") < at("softmax") && at("softmax") < at("add"));
});

Deno.test("barChartSvg with groups puts a legend entry per group", async () => {
  const svg = await barChartSvg([
    { label: "a", value: 1, group: "CPU" },
    { label: "a", value: 2, group: "WebGPU" },
  ], { xTitle: "op", yTitle: "ms" });
  assert.equal(count(svg, 'aria-roledescription="bar"'), 2);
  assert.ok(svg.includes(">CPU</text>") && svg.includes(">WebGPU</text>"));
});

Deno.test("barChartSvg horizontal puts the labels down the side, in the order given", async () => {
  const svg = await barChartSvg([
    { label: "matmul:matmul_texture", value: 5 },
    { label: "attention:attention_forward", value: 2 },
  ], { xTitle: "kernel", yTitle: "ms", horizontal: true });
  assert.equal(count(svg, 'aria-roledescription="bar"'), 2);
  const y = (label: string) =>
    Number(svg.match(new RegExp(`translate\\(-?[\\d.]+,(-?[\\d.]+)\\)"[^>]*>${label}</text>`))?.[1]);
  assert.ok(y("matmul:matmul_texture") < y("attention:attention_forward"), "the first label is on top");
});

Deno.test("heatmapSvg draws one rect per cell", async () => {
  const cells = [0, 1, 2].flatMap((y) => [0, 1, 2].map((x) => ({ x, y, value: x <= y ? 1 / (y + 1) : 0 })));
  const svg = await heatmapSvg(cells, { xTitle: "key", yTitle: "query", valueTitle: "weight" });
  assert.equal(count(svg, 'aria-roledescription="rect mark"'), 9);
  assert.ok(svg.includes(">weight</text>"));
});

Deno.test("chart text is escaped in the SVG", async () => {
  const svg = await lineChartSvg([{ name: "<b>&", x: [1, 2], y: [1, 2] }, { name: "ok", x: [1], y: [1] }], {
    xTitle: "a < b",
    yTitle: "y",
  });
  assert.ok(!svg.includes("<b>&"), "raw markup leaked into the SVG");
  assert.ok(svg.includes("a &lt; b"));
});

Deno.test("the charts refuse empty or mismatched data with a message that says what to fix", async () => {
  await assert.rejects(() => lineChartSvg([], { xTitle: "x", yTitle: "y" }), /at least one series/);
  await assert.rejects(
    () => lineChartSvg([{ name: "s", x: [1, 2], y: [1] }], { xTitle: "x", yTitle: "y" }),
    /series "s" has 2 x values but 1 y values/,
  );
  await assert.rejects(() => barChartSvg([], { xTitle: "x", yTitle: "y" }), /at least one bar/);
  await assert.rejects(() => heatmapSvg([], { xTitle: "x", yTitle: "y" }), /at least one cell/);
});
