/**
 * The short sizing runs behind the shipped models' recipe: a few network shapes and training plans, each trained
 * as a mask predictor on the Brown training split with the shipped BPE tokenizer for the same token budget, then
 * compared by the held-out bound and by training throughput.
 *
 * ```bash
 * deno task sizing:shipped --name d192-l4 --d-model 192 --layers 4 --heads 6 --mlp 512 --tokens 200000
 * deno task sizing:shipped --report      # rewrite the Markdown table from the JSON
 * ```
 *
 * Each run appends one entry to `docs/results/shipped_model_sizing.json` (replacing an entry of the same name)
 * and rewrites `shipped_model_sizing.md` from it. Quality and speed are measured apart: the bound is evaluated
 * once, after the last step, and the throughput is the median `tokens_per_s` of the run's metrics lines, which
 * time the training steps only (evaluation and checkpoints excluded). The machine's load average is recorded at
 * both ends of the run, because the project's 2-core machine is shared and throughput moves with the load.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  readShippedTokenizer,
  readSittings,
  SHIPPED_RECIPE,
  SHIPPED_TOKENIZER,
  type ShippedConfig,
  startRun,
} from "./train_shipped.ts";
import { writeFileAtomic } from "../src/io/atomic.ts";
import { loadModel } from "../src/io/model_files.ts";
import { CpuBackend } from "../src/backend/cpu.ts";
import { prepareCorpus } from "../src/train/corpus.ts";
import { makeEvalSet, tokenUnigramBaseline } from "../src/train/eval.ts";
import type { TokenRows } from "../src/data/packing.ts";
import type { Tokenizer } from "../src/tokenizer/tokenizer.ts";

/** One sizing run's record. */
export interface SizingRun {
  name: string;
  /** The mask predictor or the autoregressive twin. */
  model: "mdm" | "arm";
  command: string;
  config: ShippedConfig;
  vocabSize: number;
  parameters: number;
  /** F32 weights on disk, megabytes (10^6 bytes). */
  sizeMB: number;
  tokens: number;
  wallSeconds: number;
  /** Median training throughput over the metrics lines. */
  tokensPerSecond: number;
  /** Held-out bound after the last step, bits/char. */
  heldOutBitsPerChar: number;
  /** The last metrics line's training loss. */
  finalLoss: number;
  /**
   * The token unigram's cross-entropy on the same held-out windows, bits/char (`tokenUnigramBaseline`): where a
   * network that ignores its context lands. Absent from runs recorded before it was measured.
   */
  tokenUnigramBitsPerChar?: number;
  /** 1-minute load averages at the start and the end of the run (null where the run did not record them). */
  loadAverage: [number | null, number | null];
  backend: string;
}

const RESULTS = "docs/results/shipped_model_sizing";

/** Median of a non-empty list. */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Reads the sizing results so far (none yet: an empty list). */
async function readRuns(): Promise<SizingRun[]> {
  try {
    return JSON.parse(await Deno.readTextFile(`${RESULTS}.json`)).runs;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
}

/** A run's load averages as `start–end` ("–" where not recorded). */
function loadRange(r: SizingRun): string {
  const [a, b] = r.loadAverage.map((x) => x === null ? "?" : x.toFixed(1));
  return a === "?" && b === "?" ? "–" : `${a}–${b}`;
}

/** Hours to train `tokens` at `tokensPerSecond`. */
function hours(tokens: number, tokensPerSecond: number): number {
  return tokens / tokensPerSecond / 3600;
}

/** The Markdown report: one row per run, and what the recipe's token budget costs at each run's throughput. */
export function sizingMarkdown(runs: SizingRun[]): string {
  const budget = SHIPPED_RECIPE.steps * SHIPPED_RECIPE.batch * SHIPPED_RECIPE.seqLen;
  const lines = [
    "# Shipped model sizing runs",
    "",
    "Written by `scripts/shipped_sizing.ts` from `shipped_model_sizing.json`; each row is one run of the",
    "mask predictor (`llada train`'s trainer, Brown training split, the shipped BPE tokenizer",
    `\`${SHIPPED_TOKENIZER}\`, seed 0), scored on the held-out split (the bound, Eq. 4, 16 fixed-seed mask`,
    "samples per sequence): short sizing runs once at their end, a recipe tried at full length (`--from-run`) at",
    "its last evaluation. The token unigram column is that model of the training tokens scored on the same",
    "held-out windows: a bound at or above it means the network has not yet learned to use its context.",
    "Throughput is the median of the metrics lines' `tokens_per_s`",
    "(training steps only). The machine has 2 cores shared with other jobs: the load average at the start and",
    "end of each run says how loaded it was, and throughput measured under load underestimates an idle machine.",
    "",
    `The last column is the wall time of the recipe's token budget (${budget.toLocaleString("en")} tokens:`,
    `${SHIPPED_RECIPE.steps} steps × ${SHIPPED_RECIPE.batch} × ${SHIPPED_RECIPE.seqLen}) at that run's throughput.`,
    "",
    "| run | model | d_model × layers (heads, mlp) | seq × batch | lr | init std, RoPE θ | parameters | MB (F32) | tokens | held-out bound, bits/char | token unigram, bits/char | tokens/s | load avg | recipe budget, h |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const r of runs) {
    const c = r.config;
    lines.push(
      `| ${r.name} | ${
        r.model ?? "mdm"
      } | ${c.dModel} × ${c.layers} (${c.heads}, ${c.mlp}) | ${c.seqLen} × ${c.batch} | ${c.lr} | ${
        c.initStd ?? 0.02
      }, ${(c.ropeTheta ?? 500_000).toLocaleString("en")} | ` +
        `${r.parameters.toLocaleString("en")} | ${r.sizeMB.toFixed(1)} | ${
          r.tokens.toLocaleString("en")
        } | ` +
        `${r.heldOutBitsPerChar.toFixed(3)} | ${r.tokenUnigramBitsPerChar?.toFixed(3) ?? "–"} | ` +
        `${r.tokensPerSecond.toFixed(0)} | ${loadRange(r)} | ${
          hours(budget, r.tokensPerSecond).toFixed(2)
        } |`,
    );
  }
  lines.push("", "Commands:", "", "```bash", ...runs.map((r) => r.command), "```", "");
  lines.push(...recipeSection(runs, budget));
  return lines.join("\n");
}

/** Whether a sizing run trained the recipe's network and rows (its learning rate and length may differ). */
function hasRecipeShape(r: SizingRun): boolean {
  const c = r.config;
  const x = SHIPPED_RECIPE;
  return c.dModel === x.dModel && c.layers === x.layers && c.heads === x.heads && c.mlp === x.mlp &&
    c.seqLen === x.seqLen && c.batch === x.batch;
}

/** The recipe, its size, and its wall time at the throughput measured for its shape (mask predictor and twin). */
function recipeSection(runs: SizingRun[], budget: number): string[] {
  const x = SHIPPED_RECIPE;
  const lines = [
    "## The recipe",
    "",
    `\`scripts/train_shipped.ts\` (\`deno task train:shipped --model mdm|arm [--resume]\`): d_model ${x.dModel}, ` +
    `${x.layers} layers, ${x.heads} heads, MLP ${x.mlp}, initial weights of std ${x.initStd}, RoPE θ ` +
    `${x.ropeTheta?.toLocaleString("en")}, rows of ${x.seqLen} tokens, batch ${x.batch}, peak lr ` +
    `${x.lr} (warmup 5 %, decay over the last 20 % to a tenth), ${x.steps} steps = ` +
    `${budget.toLocaleString("en")} tokens, seed ${x.seed}, a checkpoint every ${x.checkpointEvery} steps.`,
    "",
  ];
  const same = runs.filter(hasRecipeShape);
  if (same.length === 0) {
    lines.push("No sizing run has the recipe's shape yet, so there is no measured wall time for it.", "");
    return lines;
  }
  for (const r of same) {
    lines.push(
      `- ${r.model === "arm" ? "Twin" : "Mask predictor"} (run ${r.name}): ${
        r.parameters.toLocaleString("en")
      } ` +
        `parameters, ${r.sizeMB.toFixed(1)} MB as F32; at the measured ${
          r.tokensPerSecond.toFixed(0)
        } tokens/s ` +
        `(load average ${loadRange(r)}) the budget takes ` +
        `${
          hours(budget, r.tokensPerSecond).toFixed(1)
        } h of training steps, evaluations and checkpoints not counted.`,
    );
  }
  lines.push("");
  return lines;
}

/** Writes the JSON and the Markdown report. */
async function writeReport(runs: SizingRun[]): Promise<void> {
  await Deno.mkdir("docs/results", { recursive: true });
  await writeFileAtomic(`${RESULTS}.json`, JSON.stringify({ recipe: SHIPPED_RECIPE, runs }, null, 2) + "\n");
  await writeFileAtomic(`${RESULTS}.md`, sizingMarkdown(runs));
}

/** The token unigram's bits/char on the held-out windows a run with `config` is scored on. */
async function tokenUnigramOf(config: ShippedConfig, tokenizer: Tokenizer): Promise<number> {
  const prepared = await prepareCorpus({
    corpus: "brown",
    objective: "pretrain",
    seqLength: config.seqLen,
    tokenizer: "bpe",
    vocabSize: tokenizer.vocabSize,
    splitSeed: config.seed,
  }, tokenizer);
  const evalSet = makeEvalSet(prepared.validTexts, tokenizer, {
    length: config.seqLen,
    count: config.evalSeqs,
  });
  return tokenUnigramBaseline((prepared.train as TokenRows).tokens, tokenizer.vocabSize, evalSet);
}

/**
 * A sizing entry read from a shipped run's directory (`train:shipped --run-dir DIR`, finished or stopped):
 * its network and plan from the checkpoint, tokens and throughput from `metrics.jsonl` up to the last step,
 * the last held-out bound the trainer wrote, wall time and load from `sittings.jsonl`. For recording a
 * recipe that was tried at full length, not only in short runs.
 */
export async function recordFromRun(dir: string, name: string): Promise<SizingRun> {
  const read = async (file: string) => JSON.parse(await Deno.readTextFile(`${dir}/${file}`));
  const net = await read("checkpoint/config.json");
  const state = await read("checkpoint/trainer_state.json");
  // deno-lint-ignore no-explicit-any
  const metrics: any[] = (await Deno.readTextFile(`${dir}/metrics.jsonl`)).trim().split("\n").map((l) =>
    JSON.parse(l)
  );
  const evals = metrics.filter((m) => typeof m.eval_bpc === "number");
  if (evals.length === 0) throw new Error(`${dir}: metrics.jsonl has no held-out evaluation yet`);
  const last = metrics.at(-1);
  const sittings = await readSittings(`${dir}/sittings.jsonl`);
  const seqLen = state.cli.corpus.seqLength;
  const config: ShippedConfig = {
    ...SHIPPED_RECIPE,
    dModel: net.d_model,
    layers: net.n_layers,
    heads: net.n_heads,
    mlp: net.mlp_hidden_size,
    seqLen,
    batch: state.settings.batchSize,
    lr: state.settings.lr,
    initStd: net.init_std,
    ropeTheta: net.rope_theta,
    steps: last.step,
    seed: state.settings.seed,
    evalSeqs: state.cli.evalSeqs,
  };
  const tokenizer = await readShippedTokenizer();
  const model = await loadModel(`${dir}/checkpoint`, { backend: new CpuBackend() });
  const parameters = model.parameterCount;
  return {
    name,
    model: model.causal ? "arm" : "mdm",
    command: `deno task sizing:shipped --from-run ${dir} --name ${name}`,
    config,
    vocabSize: tokenizer.vocabSize,
    parameters,
    sizeMB: (parameters * 4) / 1e6,
    tokens: last.step * config.batch * seqLen,
    wallSeconds: sittings.length > 0 ? sittings.reduce((t, x) => t + x.trainingSeconds, 0) : last.elapsed_s,
    tokensPerSecond: median(metrics.map((m) => m.tokens_per_s)),
    heldOutBitsPerChar: evals.at(-1).eval_bpc,
    finalLoss: last.loss,
    tokenUnigramBitsPerChar: await tokenUnigramOf(config, tokenizer),
    loadAverage: [sittings[0]?.loadBegan ?? null, sittings.at(-1)?.loadEnded ?? null],
    backend: "webgpu",
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      name: { type: "string" },
      model: { type: "string", default: "mdm" },
      report: { type: "boolean", default: false },
      backend: { type: "string" },
      "d-model": { type: "string" },
      layers: { type: "string" },
      heads: { type: "string" },
      mlp: { type: "string" },
      "seq-len": { type: "string" },
      batch: { type: "string" },
      lr: { type: "string" },
      "init-std": { type: "string" },
      "rope-theta": { type: "string" },
      tokens: { type: "string" },
      "from-run": { type: "string" },
    },
  });
  const runs = await readRuns();
  if (values.report) {
    await writeReport(runs);
    Deno.exit(0);
  }
  if (!values.name) throw new Error("give --name NAME for the run (or --report)");
  if (values["from-run"]) {
    const entry = await recordFromRun(values["from-run"], values.name);
    await writeReport([...runs.filter((x) => x.name !== entry.name), entry]);
    console.log(JSON.stringify(entry));
    Deno.exit(0);
  }
  const model = values.model;
  if (model !== "mdm" && model !== "arm") throw new Error(`--model must be mdm or arm, got ${model}`);
  const num = (given: string | undefined, fallback: number) => given === undefined ? fallback : Number(given);
  const r = SHIPPED_RECIPE;
  const seqLen = num(values["seq-len"], r.seqLen);
  const batch = num(values.batch, r.batch);
  const steps = Math.max(1, Math.round(num(values.tokens, 200_000) / (seqLen * batch)));
  const config: ShippedConfig = {
    ...r,
    dModel: num(values["d-model"], r.dModel),
    layers: num(values.layers, r.layers),
    heads: num(values.heads, r.heads),
    mlp: num(values.mlp, r.mlp),
    seqLen,
    batch,
    lr: num(values.lr, r.lr),
    initStd: num(values["init-std"], r.initStd ?? 0.02),
    ropeTheta: num(values["rope-theta"], r.ropeTheta ?? 500_000),
    steps,
    logEvery: 2,
    evalEvery: 0,
    evalSeqs: 32,
    checkpointEvery: 0,
  };
  const runDir = `runs/sizing/${values.name}`;
  await Deno.remove(runDir, { recursive: true }).catch(() => {});
  const tokenizer = await readShippedTokenizer();
  const load0 = Deno.loadavg()[0];
  const t0 = performance.now();
  const { result, parameters } = await startRun({
    model,
    config,
    tokenizer,
    runDir,
    backend: values.backend,
  });
  const wallSeconds = (performance.now() - t0) / 1000;
  if (result.status !== "completed" || result.evalBpc === null) {
    throw new Error(`sizing run ${values.name} did not complete: ${result.message}`);
  }
  const metrics = (await Deno.readTextFile(`${runDir}/metrics.jsonl`)).trim().split("\n").map((l) =>
    JSON.parse(l)
  );
  const entry: SizingRun = {
    name: values.name,
    model,
    command: `deno task sizing:shipped ${Deno.args.join(" ")}`,
    config,
    vocabSize: tokenizer.vocabSize,
    parameters,
    sizeMB: (parameters * 4) / 1e6,
    tokens: steps * batch * seqLen,
    wallSeconds,
    tokensPerSecond: median(metrics.map((m) => m.tokens_per_s)),
    heldOutBitsPerChar: result.evalBpc,
    tokenUnigramBitsPerChar: await tokenUnigramOf(config, tokenizer),
    finalLoss: metrics.at(-1).loss,
    loadAverage: [load0, Deno.loadavg()[0]],
    backend: values.backend ?? "auto",
  };
  await writeReport([...runs.filter((x) => x.name !== entry.name), entry]);
  console.log(JSON.stringify(entry));
}
