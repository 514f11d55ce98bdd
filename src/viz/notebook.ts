/**
 * Text output for the notebooks: lines collected with `print` and shown together by `await show()`.
 *
 * Deno's Jupyter kernel can lose output that arrives just as a cell ends, `console.log` lines especially; one
 * display message followed by a short pause gets through. So a notebook cell prints into a buffer and ends with
 * `await show()`, which sends the buffer as one `text/plain` message and waits a moment.
 *
 * @module
 */

/** A notebook's `print` and `show`; both are plain functions, so they can be destructured. */
export interface NotebookPrinter {
  /** Adds one line: the parts joined by spaces, as `console.log` would. */
  print(...parts: unknown[]): void;
  /** Displays every line printed since the last `show` as one message, then pauses `pauseMs`. */
  show(): Promise<void>;
}

/** Sends text to the notebook: by default Jupyter's `text/plain` display of the Deno kernel. */
export type Display = (text: string) => Promise<void>;

/** What {@link notebookPrinter} displays through, and how long it pauses after each message. */
export interface PrinterOptions {
  /** Default: `Deno.jupyter.display` as raw `text/plain`. */
  display?: Display;
  /** Milliseconds to wait after a message (default 50). */
  pauseMs?: number;
}

/**
 * A printer for one notebook.
 *
 * @example
 * ```ts
 * const { print, show } = notebookPrinter();
 * print("loss", 2.134);
 * await show();
 * ```
 */
export function notebookPrinter(options: PrinterOptions = {}): NotebookPrinter {
  const display: Display = options.display ??
    (async (text) => void await Deno.jupyter.display({ "text/plain": text }, { raw: true }));
  const pauseMs = options.pauseMs ?? 50;
  const printed: string[] = [];
  return {
    print: (...parts) => void printed.push(parts.join(" ")),
    show: async () => {
      await display(printed.splice(0).join("\n"));
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    },
  };
}
