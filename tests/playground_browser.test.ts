/**
 * The playground in a real browser: Debian's `chromium`, headless, with WebGPU on its software adapter
 * (SwiftShader), driven over the DevTools protocol by npm `puppeteer-core` (pinned below, fetched on first use
 * into the test task's lockfile; no browser download: it drives the system binary). The test builds the site
 * (`scripts/playground.ts`), serves it on a free port, and checks:
 *
 * - the page reports the WebGPU adapter it runs on (SwiftShader);
 * - for a fixed prompt, seed and settings, the tokens the page generates on WebGPU equal those of
 *   `llada sample --json` on the CPU backend, exactly;
 * - 20 steps of the train tab lower the loss and the held-out bound;
 * - with `?backend=cpu` the page says it runs on the CPU backend, and gives the same tokens there;
 * - no console errors, page errors or failed requests along the way;
 *
 * and saves a screenshot to `build/playground-screenshot.png` (the README's picture is a copy of it).
 *
 * Without Chromium the test says so and is skipped, except under `CI=true` (`.ci/run` installs it). The model
 * is the smallest shipped one and the settings are few steps: SwiftShader runs WGSL on the CPU, slowly.
 */

import assert from "node:assert/strict";
import { buildPlayground, PLAYGROUND_DIR, servePlayground } from "../scripts/playground.ts";

/** The DevTools client, pinned; a variable so that type checking never resolves (and downloads) it. */
const PUPPETEER = "npm:puppeteer-core@25.16.0";

const ROOT = new URL("../", import.meta.url);
const SCREENSHOT = "build/playground-screenshot.png";

/** The prompt and settings both the page and the CLI use. */
const PROMPT = "The jury said";
const SETTINGS = { "gen-length": 16, steps: 8, "block-length": 8, temperature: 0, seed: 3 } as const;

/** The browser binary: `CHROMIUM` when set, else Debian's. */
const CHROMIUM = Deno.env.get("CHROMIUM") ?? "/usr/bin/chromium";
const hasChromium = await Deno.stat(CHROMIUM).then((s) => s.isFile, () => false);
const inCI = Deno.env.get("CI") === "true";
if (!hasChromium && !inCI) {
  console.warn(
    `playground_browser: ${CHROMIUM} not found, so the playground is not tested in a browser ` +
      "(install: apt-get install -y chromium; or set CHROMIUM to a Chromium binary)",
  );
}

/** The part of puppeteer-core's API the test uses. */
interface Page {
  on(event: "console", f: (m: { type(): string; text(): string }) => void): void;
  on(event: "pageerror", f: (e: Error) => void): void;
  on(event: "requestfailed", f: (r: { url(): string }) => void): void;
  on(event: "response", f: (r: { url(): string; status(): number }) => void): void;
  goto(url: string): Promise<unknown>;
  waitForSelector(selector: string, options: { timeout: number }): Promise<unknown>;
  waitForFunction(f: string, options: { timeout: number }): Promise<unknown>;
  evaluate<T>(f: string): Promise<T>;
  click(selector: string): Promise<void>;
  select(selector: string, value: string): Promise<unknown>;
  setViewport(v: { width: number; height: number }): Promise<void>;
  screenshot(options: { path: string; fullPage: boolean }): Promise<unknown>;
}
interface Browser {
  newPage(): Promise<Page>;
  close(): Promise<void>;
}
interface Puppeteer {
  launch(options: { executablePath: string; headless: boolean; args: string[] }): Promise<Browser>;
}

/** The tokens `llada sample --json` generates for {@link PROMPT} and {@link SETTINGS} on the CPU backend. */
async function cliTokens(model: string): Promise<number[]> {
  const options = Object.entries(SETTINGS).flatMap(([k, v]) => [`--${k}`, String(v)]);
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "src/cli.ts",
      "sample",
      "--model",
      `models/${model}`,
      "--prompt",
      PROMPT,
      "--remasking",
      "low_confidence",
      ...options,
      "--backend",
      "cpu",
      "--json",
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `llada sample failed:\n${stderr}`);
  return JSON.parse(new TextDecoder().decode(out.stdout).trim()).tokens;
}

/** Sets the value of the form field `#id`. */
function setField(page: Page, id: string, value: string | number): Promise<unknown> {
  return page.evaluate(
    `document.getElementById(${JSON.stringify(id)}).value = ${JSON.stringify(String(value))}`,
  );
}

/**
 * Generates {@link PROMPT} with {@link SETTINGS} on the page and checks its tokens against `expected` (the
 * command line's), its NFE, and the grid's rows.
 */
async function checkGeneration(page: Page, expected: number[]): Promise<void> {
  await setField(page, "prompt", PROMPT);
  for (const [k, v] of Object.entries(SETTINGS)) await setField(page, k, v);
  await page.select("#strategy", "low_confidence");
  await page.select("#parallel", "none");
  await page.click("#generate");
  await page.waitForFunction(
    `document.getElementById("result-stats").dataset.done || document.getElementById("generate-message").textContent`,
    { timeout: 60_000 },
  );
  const result = await page.evaluate<{ tokens?: string; nfe?: string; message: string; rows: number }>(
    `({ ...document.getElementById("result-stats").dataset,
        message: document.getElementById("generate-message").textContent,
        rows: document.querySelectorAll("#grid tr").length })`,
  );
  assert.equal(result.message, "", `the page reported: ${result.message}`);
  assert.deepEqual(JSON.parse(result.tokens!), expected, "the page's tokens differ from llada sample's");
  assert.equal(Number(result.nfe), SETTINGS.steps);
  assert.equal(result.rows, SETTINGS.steps + 1, "one grid row per step, plus the fully masked start");
}

Deno.test({
  name: "the playground in headless Chromium on WebGPU: the CLI's tokens, a training that learns, no errors",
  ignore: !hasChromium && !inCI,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    assert.ok(hasChromium, `${CHROMIUM} not found under CI=true (.ci/run installs Debian's chromium)`);
    const manifest = await buildPlayground();
    // The command line runs while the browser starts and loads the page.
    const expected = cliTokens(manifest.maskPredictor);
    expected.catch(() => {}); // its failure is reported where it is awaited, not as an unhandled rejection
    const server = servePlayground(PLAYGROUND_DIR, 0);
    const puppeteer = (await import(PUPPETEER)).default as Puppeteer;
    const browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--enable-unsafe-webgpu", "--use-webgpu-adapter=swiftshader"],
    });
    const problems: string[] = [];
    try {
      const page = await browser.newPage();
      await page.setViewport({ width: 1100, height: 900 });
      page.on("console", (m) => void (m.type() === "error" && problems.push(`console error: ${m.text()}`)));
      page.on("pageerror", (e) => void problems.push(`page error: ${e.message}`));
      page.on("requestfailed", (r) => void problems.push(`request failed: ${r.url()}`));
      page.on("response", (r) => void (r.status() >= 400 && problems.push(`HTTP ${r.status()}: ${r.url()}`)));
      await page.goto(`http://localhost:${server.addr.port}/`);
      await page.waitForSelector("#generate[data-ready]", { timeout: 60_000 });

      // The adapter the page says it runs on.
      const backend = await page.evaluate<{ kind: string; adapter: string; text: string }>(
        `(() => { const e = document.getElementById("backend");
          return { kind: e.dataset.backend, adapter: e.dataset.adapter, text: e.textContent }; })()`,
      );
      assert.equal(backend.kind, "webgpu", `the page did not run on WebGPU: ${backend.text}`);
      assert.match(backend.adapter, /swiftshader/i);
      assert.match(backend.text, /Running on WebGPU: .*swiftshader/i);

      // The same tokens as the command line, for the same prompt, seed and settings.
      await checkGeneration(page, await expected);

      // Twenty steps of training in the tab lower the loss and the held-out bound.
      await page.click("#tab-train");
      await page.click("#brown-sample");
      await page.waitForFunction(`document.getElementById("train-text").value.length > 10000`, {
        timeout: 10_000,
      });
      const train = {
        "train-steps": 20,
        "train-batch": 4,
        "train-length": 16,
        "train-width": 16,
        "train-layers": 1,
      };
      for (const [k, v] of Object.entries(train)) await setField(page, k, v);
      await setField(page, "train-lr", 0.01);
      await setField(page, "train-eval-every", 20);
      await page.click("#train");
      await page.waitForFunction(
        `document.getElementById("train-stats").dataset.done || document.getElementById("train-message").textContent`,
        { timeout: 300_000 }, // SwiftShader compiles the backward pass's pipelines: about 80 s on two busy cores
      );
      const trained = await page.evaluate<{ losses: string; bounds: string; message: string }>(
        `({ ...document.getElementById("train-stats").dataset,
            message: document.getElementById("train-message").textContent })`,
      );
      assert.equal(trained.message, "", `the train tab reported: ${trained.message}`);
      const losses: number[] = JSON.parse(trained.losses);
      const bounds: number[] = JSON.parse(trained.bounds);
      assert.equal(losses.length, 20);
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      assert.ok(
        mean(losses.slice(-5)) < mean(losses.slice(0, 5)),
        `the loss did not fall: first five ${losses.slice(0, 5)}, last five ${losses.slice(-5)}`,
      );
      assert.equal(bounds.length, 2, "the bound before training and after step 20");
      assert.ok(bounds[1] < bounds[0], `the held-out bound did not fall: ${bounds}`);

      await page.click("#tab-generate");
      await page.screenshot({ path: new URL(SCREENSHOT, ROOT).pathname, fullPage: true });

      // The CPU fallback says so and gives the same tokens.
      await page.goto(`http://localhost:${server.addr.port}/?backend=cpu`);
      await page.waitForSelector("#generate[data-ready]", { timeout: 60_000 });
      const cpu = await page.evaluate<{ kind: string; text: string }>(
        `({ kind: document.getElementById("backend").dataset.backend,
            text: document.getElementById("backend").textContent })`,
      );
      assert.equal(cpu.kind, "cpu");
      assert.match(cpu.text, /^Running on the CPU backend: chosen in the address/);
      await checkGeneration(page, await expected);
      assert.deepEqual(problems, [], "the page logged errors");
    } finally {
      await browser.close();
      await server.shutdown();
    }
  },
});
