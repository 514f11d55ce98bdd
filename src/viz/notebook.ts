/**
 * Output for the notebooks: text lines collected with `print` and shown together by `await show()`, and HTML
 * (token strips, denoising grids) or SVG (charts) shown by `await html(…)` / `await svg(…)`. This is the one file
 * of `src/viz/` that knows about Deno's Jupyter kernel; the rest makes strings and runs in a browser too.
 *
 * Deno's Jupyter kernel can lose output that arrives just as a cell ends, `console.log` lines especially; one
 * display message followed by a short pause gets through. So a notebook cell prints into a buffer and ends with
 * `await show()` (or a chart), which sends the buffer as one `text/plain` message and waits a moment. Pictures
 * go out as Jupyter display messages with their own MIME type (`text/html`, `image/svg+xml`), which notebook
 * viewers render.
 *
 * @module
 */

/** A notebook's `print`, `show`, `html` and `svg`; all plain functions, so they can be destructured. */
export interface NotebookPrinter {
  /** Adds one line: the parts joined by spaces, as `console.log` would. */
  print(...parts: unknown[]): void;
  /** Displays every line printed since the last display as one `text/plain` message, then pauses. */
  show(): Promise<void>;
  /** Shows the printed lines (if any), then `markup` as a `text/html` message, then pauses. */
  html(markup: string): Promise<void>;
  /** Shows the printed lines (if any), then `markup` as an `image/svg+xml` message, then pauses. */
  svg(markup: string): Promise<void>;
}

/** One Jupyter display message: MIME type → content. */
export type Bundle = Record<string, string>;

/** Sends a bundle to the notebook: by default the Deno kernel's raw display. */
export type Display = (bundle: Bundle) => Promise<void>;

/** What {@link notebookPrinter} displays through, and how long it pauses after each message. */
export interface PrinterOptions {
  /** Default: `Deno.jupyter.display(bundle, { raw: true })`. */
  display?: Display;
  /** Milliseconds to wait after a message (default 50). */
  pauseMs?: number;
}

/**
 * A printer for one notebook.
 *
 * @example
 * ```ts
 * const { print, show, svg } = notebookPrinter();
 * print("loss", 2.134);
 * await show();
 * await svg(await lineChartSvg([{ name: "loss", x: [1, 2], y: [3, 2] }], { xTitle: "step", yTitle: "loss" }));
 * ```
 */
export function notebookPrinter(options: PrinterOptions = {}): NotebookPrinter {
  const display: Display = options.display ??
    (async (bundle) => void await Deno.jupyter.display(bundle, { raw: true }));
  const pauseMs = options.pauseMs ?? 50;
  const printed: string[] = [];
  const send = async (bundle: Bundle) => {
    await display(bundle);
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  };
  const flush = async () => {
    if (printed.length > 0) await send({ "text/plain": printed.splice(0).join("\n") });
  };
  return {
    print: (...parts) => void printed.push(parts.join(" ")),
    show: async () => {
      await send({ "text/plain": printed.splice(0).join("\n") });
    },
    html: async (markup) => {
      await flush();
      await send({ "text/html": markup });
    },
    svg: async (markup) => {
      await flush();
      await send({ "image/svg+xml": markup });
    },
  };
}
