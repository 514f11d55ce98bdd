/**
 * Progress reporting for training: a live bar on a terminal, plain lines otherwise.
 *
 * On a terminal (`Deno.stdout.isTerminal()`) one line is redrawn in place after every step:
 *
 *     [██████████░░░░░░░░░░]  512/1000  loss 2.134  1850 tok/s  eta 4m05s
 *
 * and messages (evaluations, checkpoints) are printed above it. When the output is a file or a pipe (CI logs,
 * `nohup`), redrawing would fill the log with carriage returns, so a plain line is printed every `logEvery`
 * steps instead. The ETA is the remaining steps times the mean duration of the recent steps (a window of 20, so
 * it follows changes of speed but not a single slow step).
 *
 * @module
 */

/** One step's figures, as shown by the reporter. */
export interface ProgressUpdate {
  /** Steps done (1-based after the first step). */
  step: number;
  /** The step's loss (or a running mean). */
  loss: number;
  /** Training throughput. */
  tokensPerS: number;
  /** Learning rate of the step. */
  lr: number;
}

/** Where the trainer reports progress. */
export interface ProgressReporter {
  /** Called once before the first step; `startStep > 0` when resuming. */
  start(totalSteps: number, startStep: number): void;
  /** Called when a run fitted to a time budget re-plans its number of steps. */
  retarget?(totalSteps: number): void;
  /** Called after every step. */
  update(u: ProgressUpdate): void;
  /** A message (evaluation result, checkpoint) printed on its own line. */
  message(text: string): void;
  /** Called once at the end (also after an interruption). */
  finish(): void;
}

/** Options for {@link createProgress}. */
export interface ProgressOptions {
  /** Draw a bar (default: whether stdout is a terminal). */
  terminal?: boolean;
  /** In plain mode, print a line every this many steps (default 10). */
  logEvery?: number;
  /** Where text goes (default stdout). */
  write?: (text: string) => void;
  /** Width of the bar in cells (default 24). */
  barWidth?: number;
}

const encoder = new TextEncoder();

/** Writes text to stdout synchronously (progress must appear before a long step starts). */
function writeStdout(text: string): void {
  Deno.stdout.writeSync(encoder.encode(text));
}

/** `245.3` → `"4m05s"`, `3725` → `"1h02m"`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** The figures of one update as text: `loss 2.134  1850 tok/s  lr 3.0e-3  eta 4m05s`. */
function figures(u: ProgressUpdate, eta: number): string {
  return `loss ${u.loss.toFixed(3)}  ${Math.round(u.tokensPerS)} tok/s  lr ${u.lr.toExponential(1)}  ` +
    `eta ${formatDuration(eta)}`;
}

/** A reporter that draws a bar on a terminal and prints plain lines otherwise (see the module documentation). */
export function createProgress(options: ProgressOptions = {}): ProgressReporter {
  const terminal = options.terminal ?? Deno.stdout.isTerminal();
  const logEvery = options.logEvery ?? 10;
  const write = options.write ?? writeStdout;
  const barWidth = options.barWidth ?? 24;
  let total = 0;
  let drawn = false;
  const recent: number[] = []; // durations of the last steps, ms
  let last = 0;
  const clear = () => {
    if (drawn) write("\r\x1b[2K");
    drawn = false;
  };
  return {
    start(totalSteps, startStep) {
      total = totalSteps;
      last = performance.now();
      if (startStep > 0) this.message(`resuming at step ${startStep}/${totalSteps}`);
    },
    retarget(totalSteps) {
      total = totalSteps;
    },
    update(u) {
      const now = performance.now();
      recent.push(now - last);
      if (recent.length > 20) recent.shift();
      last = now;
      const perStep = recent.reduce((a, b) => a + b, 0) / recent.length / 1000;
      const eta = (total - u.step) * perStep;
      const width = String(total).length;
      const counter = `${String(u.step).padStart(width)}/${total}`;
      if (terminal) {
        const filled = Math.round((barWidth * u.step) / Math.max(1, total));
        const bar = "█".repeat(filled) + "░".repeat(barWidth - filled);
        write(`\r\x1b[2K[${bar}] ${counter}  ${figures(u, eta)}`);
        drawn = true;
      } else if (u.step % logEvery === 0 || u.step === total) {
        write(`step ${counter}  ${figures(u, eta)}\n`);
      }
    },
    message(text) {
      clear();
      write(text + "\n");
      // After an evaluation or a save the next step's duration should not include it.
      last = performance.now();
    },
    finish() {
      if (drawn) write("\n");
      drawn = false;
    },
  };
}

/** A reporter that prints nothing (tests, library use). */
export const silentProgress: ProgressReporter = {
  start() {},
  update() {},
  message() {},
  finish() {},
};
