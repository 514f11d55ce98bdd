/**
 * The Web Worker in which a test file's WebGPU cases run (see `parity_helper.ts` for why they do not run on the
 * file's own thread). It answers three requests from the file, one at a time, each with `{ id, value }`:
 *
 * - `load <module>`: imports the test file (its WebGPU cases are recorded, its other tests ignored) and replies
 *   whether there is an adapter, and this worker's thread (its `/proc` task id, so the file can wait for its exit);
 * - `run <name>`: runs one recorded case and replies with its error, if any;
 * - `close`: waits for the GPU's work, destroys the device, replies and ends the worker.
 *
 * @module
 */

import { loadCases, releaseGpu, runCase } from "./parity_helper.ts";

/** This thread's task id under `/proc/self/task`, or "" where there is no `/proc` (not Linux). */
function threadId(): string {
  try {
    return Deno.readLinkSync("/proc/thread-self").split("/").pop() ?? "";
  } catch {
    return "";
  }
}

/** A request from the test file. */
interface Request {
  id: number;
  type: "load" | "run" | "close";
  arg: string;
}

/** The worker's global scope (type-checked with the main-thread library, which lacks the worker's). */
const scope = self as unknown as {
  onmessage: (e: MessageEvent<Request>) => void;
  postMessage(message: { id: number; value: unknown }): void;
  close(): void;
};

scope.onmessage = async (e) => {
  const { id, type, arg } = e.data;
  let value: unknown;
  if (type === "load") value = { ...await loadCases(arg), thread: threadId() };
  else if (type === "run") value = await runCase(arg);
  else value = await releaseGpu();
  scope.postMessage({ id, value });
  // The reply is posted first: the file waits for it, then for this thread to exit.
  if (type === "close") scope.close();
};
