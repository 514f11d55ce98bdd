/**
 * Worker entry of the reproduction's fixed variant: runs the kernel on this worker's thread when asked and replies
 * with x[0] and the thread's `/proc` task id (so the test file can wait for the thread to exit).
 *
 * @module
 */

import { runKernel } from "./kernel.ts";

const scope = self as unknown as {
  onmessage: () => void;
  postMessage(message: { first: number; thread: string }): void;
};
scope.onmessage = async () => {
  const first = await runKernel();
  scope.postMessage({ first, thread: Deno.readLinkSync("/proc/thread-self").split("/").pop()! });
};
