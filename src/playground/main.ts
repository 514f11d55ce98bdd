/// <reference lib="dom" />
/**
 * The playground page's entry point: chooses the backend (WebGPU where the browser has it, else the CPU), wires
 * the two tabs, and loads the shipped models. The generate tab lives in `generate_tab.ts`, the train tab in
 * `train_tab.ts`; both draw denoising traces with `viz/denoising_grid.ts`.
 *
 * Nothing here or below imports `node:` modules or calls `Deno.*`: the shaders are bundled as text, the model
 * files are fetched.
 *
 * @module
 */

import type { Backend } from "../backend/backend.ts";
import { useBackend } from "../use_backend.ts";
import { DENOISING_GRID_CSS } from "../viz/denoising_grid.ts";
import { setupGenerateTab } from "./generate_tab.ts";
import { setupTrainTab } from "./train_tab.ts";
import { byId } from "./dom.ts";

/** The backend the page runs on and the sentence that says so. */
interface PageBackend {
  backend: Backend;
  /** "webgpu" or "cpu". */
  kind: string;
  /** The adapter's description on WebGPU, else why the CPU runs. */
  adapter: string;
  /** What the page tells the reader. */
  message: string;
}

/**
 * WebGPU when the browser has it and it gives a device (the shaders compile), else the CPU backend, with the
 * reason. `?backend=cpu` in the address chooses the CPU.
 */
async function chooseBackend(): Promise<PageBackend> {
  const forced = new URLSearchParams(location.search).get("backend");
  const cpu = async (why: string): Promise<PageBackend> => {
    const choice = await useBackend("cpu");
    return {
      backend: choice.backend,
      kind: "cpu",
      adapter: "",
      message: `Running on the CPU backend: ${why}.`,
    };
  };
  if (forced === "cpu") return await cpu("chosen in the address (?backend=cpu)");
  if (!("gpu" in navigator)) {
    return await cpu(
      "this browser has no WebGPU (navigator.gpu is missing), so the model runs in JavaScript, more slowly. " +
        "Chrome or Edge 113+, or a browser with WebGPU enabled, runs the WGSL kernels",
    );
  }
  try {
    const choice = await useBackend("webgpu");
    return {
      backend: choice.backend,
      kind: "webgpu",
      adapter: choice.description,
      message: `Running on WebGPU: ${choice.description}.`,
    };
  } catch (e) {
    return await cpu(`WebGPU is present but gave no usable device (${(e as Error).message})`);
  }
}

/** Arrow keys, Home and End move between tabs (the ARIA tabs pattern); Enter or a click selects. */
function setupTabs(): void {
  const tabs = [...document.querySelectorAll<HTMLButtonElement>('[role="tab"]')];
  const select = (tab: HTMLButtonElement) => {
    for (const t of tabs) {
      const selected = t === tab;
      t.setAttribute("aria-selected", String(selected));
      t.tabIndex = selected ? 0 : -1;
      byId(t.getAttribute("aria-controls")!).hidden = !selected;
    }
    tab.focus();
  };
  tabs.forEach((tab, i) => {
    tab.addEventListener("click", () => select(tab));
    tab.addEventListener("keydown", (event) => {
      const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[event.key];
      if (next === undefined) return;
      event.preventDefault();
      select(tabs[(next + tabs.length) % tabs.length]);
    });
  });
}

async function main(): Promise<void> {
  const style = document.createElement("style");
  style.textContent = DENOISING_GRID_CSS;
  document.head.append(style);
  setupTabs();
  const status = byId("backend");
  const page = await chooseBackend();
  status.textContent = page.message;
  status.dataset.backend = page.kind;
  status.dataset.adapter = page.adapter;
  setupTrainTab(page.backend);
  await setupGenerateTab(page.backend);
}

main().catch((e) => {
  byId("backend").textContent = `The playground could not start: ${(e as Error).message}`;
});
