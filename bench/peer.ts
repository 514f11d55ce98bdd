/**
 * The PyTorch peer of the model benchmarks: the same measurement made by `tests/pytorch/bench_peer.py` (the
 * project's minimal PyTorch LLaDA) in the same run, so every model figure comes with a ratio to PyTorch on the
 * same machine at the same moment.
 *
 * The peer runs with Debian's `/usr/bin/python3` (`python3-torch`); `LLADA_PEER_PYTHON` names another
 * interpreter. Without an interpreter that imports torch, every peer figure is `null` (the bench still runs).
 *
 * OpenBLAS's worker threads spin while they wait, so on a machine whose cores are busy with other work PyTorch
 * with its default threading can run small matrix products ten times slower than with one BLAS thread (measured
 * here: a 68×96·96×96 product took 32 µs with one thread and 360 µs with two under load). The peer therefore
 * runs twice, with the default threading and with `OPENBLAS_NUM_THREADS=1`, and reports the faster: the ratio
 * compares against PyTorch at its best on this machine, never against a stalled PyTorch.
 *
 * @module
 */

/** One peer measurement. */
export interface PeerFigure {
  tokens_per_s: number;
  ms_per_step: number;
  /** The OpenBLAS thread setting of the faster run: "default" or "1". */
  blas_threads: "default" | "1";
  /** `sample` only: the generated tokens (after the prompt). */
  tokens?: number[];
}

const PYTHON = Deno.env.get("LLADA_PEER_PYTHON") ?? "/usr/bin/python3";
const SCRIPT = new URL("../tests/pytorch/bench_peer.py", import.meta.url).pathname;

let available: Promise<boolean> | null = null;

/** Whether the peer can run: the interpreter exists and imports torch and numpy (checked once). */
export function peerAvailable(): Promise<boolean> {
  available ??= (async () => {
    try {
      const { code } = await new Deno.Command(PYTHON, {
        args: ["-c", "import torch, numpy"],
        stdout: "null",
        stderr: "null",
      }).output();
      return code === 0;
    } catch {
      return false;
    }
  })();
  return available;
}

/** Runs `bench_peer.py <mode> <request>` once with the given environment; throws with its stderr on failure. */
async function runOnce(mode: string, request: unknown, env: Record<string, string>): Promise<PeerFigure> {
  const { code, stdout, stderr } = await new Deno.Command(PYTHON, {
    args: [SCRIPT, mode, JSON.stringify(request)],
    env,
  }).output();
  if (code !== 0) {
    throw new Error(`bench_peer.py ${mode} exited ${code}:\n${new TextDecoder().decode(stderr)}`);
  }
  return JSON.parse(new TextDecoder().decode(stdout));
}

/** The faster of the default-threaded and single-BLAS-thread runs, or null without PyTorch. */
async function runPeer(mode: "sample" | "train", request: unknown): Promise<PeerFigure | null> {
  if (!(await peerAvailable())) return null;
  const single = await runOnce(mode, request, { OPENBLAS_NUM_THREADS: "1" });
  const threaded = await runOnce(mode, request, {});
  return threaded.tokens_per_s > single.tokens_per_s
    ? { ...threaded, blas_threads: "default" }
    : { ...single, blas_threads: "1" };
}

/** The peer's sampling figure: the official `generate.py` algorithm (one block, low confidence, temperature 0). */
export function peerSample(request: {
  model_dir: string;
  prompt: number[];
  gen_length: number;
  steps: number;
  repeats: number;
}): Promise<PeerFigure | null> {
  return runPeer("sample", request);
}

/** The peer's training-step figure: pre-training steps of a fresh network of `config` on `batch × length`. */
export function peerTrainStep(request: {
  config: Record<string, number>;
  batch: number;
  length: number;
  warmup: number;
  steps: number;
}): Promise<PeerFigure | null> {
  return runPeer("train", request);
}

/** `ours / peer`, rounded to 3 digits, or null without a peer figure. */
export function ratio(ours: number, peer: PeerFigure | null): number | null {
  return peer === null ? null : Math.round((ours / peer.tokens_per_s) * 1000) / 1000;
}
