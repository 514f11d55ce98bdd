/**
 * The planted bugs of the mutation sweep (`tests/tools/mutate.ts`): each a one-line edit a reviewer would find
 * plausible, with the tests that should catch it. When the code they point at moves, `deno task mutate --list`
 * says which patterns no longer match; update them here (the edit, not just the text, must stay meaningful).
 *
 * @module
 */

/** One planted bug. */
export interface Mutant {
  /** Short unique name, for `--only`. */
  id: string;
  /** The file to edit, relative to the repository root. */
  file: string;
  /** The exact text to replace (on one line). Must occur exactly once unless `occurrence` says which. */
  find: string;
  /** What replaces it. */
  replace: string;
  /** 1-based occurrence of `find` to edit when it occurs more than once. */
  occurrence?: number;
  /** Test files expected to catch it (run first; the whole suite runs only when these pass). */
  tests: string[];
}

const T = (...names: string[]) => names.map((n) => `tests/${n}.test.ts`);

export const MUTANTS: Mutant[] = [
  // ---- the sampler's strategies and the KV cache ------------------------------------------------------------
  {
    id: "twin-reads-first-position",
    file: "src/llada/autoregressive_sampling.ts",
    find: "      const offset = (b * width + width - 1) * V;",
    replace: "      const offset = (b * width + pads[b]) * V;",
    tests: T("llada_autoregressive_sampling", "cli_twin"),
  },
  {
    id: "twin-padding-attended",
    file: "src/llada/autoregressive_sampling.ts",
    find: "      mask?.fill(0, b * width, b * width + pads[b]);",
    replace: "      mask?.fill(1, b * width, b * width + pads[b]);",
    tests: T("llada_autoregressive_sampling"),
  },
  {
    id: "ancestral-reveal-s-over-t",
    file: "src/llada/ancestral.ts",
    find: "return step === steps - 1 ? 1 : (t - s) / t;",
    replace: "return step === steps - 1 ? 1 : s / t;",
    tests: T("llada_strategies"),
  },
  {
    id: "ancestral-reveal-halved",
    file: "src/llada/ancestral.ts",
    find: "for (const i of candidates) if (rng.uniform() < p) revealed.push(i);",
    replace: "for (const i of candidates) if (rng.uniform() < p * 0.5) revealed.push(i);",
    tests: T("llada_strategies"),
  },
  {
    id: "factor-rule-rank-off-by-one",
    file: "src/llada/parallel_decoding.ts",
    find: "while (n < ranked.length && (n + 2) * (1 - ranked[n]) <= value) n++;",
    replace: "while (n < ranked.length && (n + 1) * (1 - ranked[n]) <= value) n++;",
    tests: T("llada_strategies"),
  },
  {
    id: "threshold-rule-strict",
    file: "src/llada/parallel_decoding.ts",
    find: "while (n < ranked.length && ranked[n] >= value) n++;",
    replace: "while (n < ranked.length && ranked[n] > value) n++;",
    tests: T("llada_strategies", "llada_reverse_sampling"),
  },
  {
    id: "top-p-stops-late",
    file: "src/llada/token_filters.ts",
    find: "      if (mass >= topP) break;",
    replace: "      if (mass > topP + 1e-3) break;",
    tests: T("llada_strategies"),
  },
  {
    id: "top-k-keeps-one-more",
    file: "src/llada/token_filters.ts",
    find: "let keep = topK === undefined ? V : Math.min(topK, V);",
    replace: "let keep = topK === undefined ? V : Math.min(topK + 1, V);",
    tests: T("llada_strategies"),
  },
  {
    id: "remdm-remasks-most-confident",
    file: "src/llada/remdm.ts",
    find: "return committed.slice().sort((i, j) => probability[i] - probability[j] || j - i).slice(0, r);",
    replace: "return committed.slice().sort((i, j) => probability[j] - probability[i] || j - i).slice(0, r);",
    tests: T("llada_strategies"),
  },
  {
    id: "remdm-sigma-uncapped",
    file: "src/llada/remdm.ts",
    find: "return step === 0 ? eta : Math.min(eta, s / (1 - t));",
    replace: "return step === 0 ? eta : s / (1 - t);",
    tests: T("llada_strategies"),
  },
  {
    id: "kv-cache-never-refreshed",
    file: "src/llada/strategies.ts",
    find: "if (step % o.cacheRefresh === 0) {",
    replace: "if (step === 0 && !held.cache) {",
    tests: T("llada_strategies", "model_kv_cache"),
  },
  {
    id: "kv-cache-window-shifted",
    file: "src/model/kv_cache.ts",
    find: "      const positions = slice(full.positions, 1, from, to);",
    replace: "      const positions = slice(full.positions, 1, 0, to - from);",
    tests: T("model_kv_cache", "llada_strategies"),
  },

  // ---- src/optim, and the AdamW primitive of both backends ---------------------------------------------------
  {
    id: "adamw-decays-norm-weights",
    file: "src/optim/adamw.ts",
    find: "p.shape.length >= 2 ? this.weightDecay : 0",
    replace: "this.weightDecay",
    tests: T("optim_adamw"),
  },
  {
    id: "adamw-cpu-bias-step-plus-one",
    file: "src/backend/cpu.ts",
    find: "const bc1 = 1 - Math.pow(p.beta1, p.step);",
    replace: "const bc1 = 1 - Math.pow(p.beta1, p.step + 1);",
    tests: T("optim_adamw"),
  },
  {
    id: "adamw-cpu-eps-inside-sqrt",
    file: "src/backend/cpu.ts",
    find: "P[i] -= p.lr * (mhat / (Math.sqrt(vhat) + p.eps) + p.weightDecay * P[i]);",
    replace: "P[i] -= p.lr * (mhat / Math.sqrt(vhat + p.eps) + p.weightDecay * P[i]);",
    tests: T("optim_adamw"),
  },
  {
    id: "adamw-gpu-bias-step-plus-one",
    file: "src/backend/webgpu.ts",
    find: "const bc2 = 1 - Math.pow(p.beta2, p.step);",
    replace: "const bc2 = 1 - Math.pow(p.beta2, p.step + 1);",
    tests: T("webgpu_nn"),
  },
  {
    id: "adamw-wgsl-decay-without-lr",
    file: "shaders/adamw.wgsl",
    find: "param[i] = p - P.lr * (mhat / (sqrt(vhat) + P.eps) + P.weight_decay * p);",
    replace: "param[i] = p - P.lr * mhat / (sqrt(vhat) + P.eps) - P.weight_decay * p;",
    tests: T("webgpu_nn"),
  },
  {
    id: "adamw-wgsl-no-bias-correction2",
    file: "shaders/adamw.wgsl",
    find: "let vhat = vi / P.bias_correction2;",
    replace: "let vhat = vi;",
    tests: T("webgpu_nn"),
  },
  {
    id: "schedule-warmup-from-zero",
    file: "src/optim/schedule.ts",
    find: "if (step < o.warmupSteps) return (o.peakLr * (step + 1)) / o.warmupSteps;",
    replace: "if (step < o.warmupSteps) return (o.peakLr * step) / o.warmupSteps;",
    tests: T("optim_schedule"),
  },
  {
    id: "schedule-decay-off-by-one",
    file: "src/optim/schedule.ts",
    find: "const f = Math.min(1, (step - decayStart + 1) / o.decaySteps);",
    replace: "const f = Math.min(1, (step - decayStart) / o.decaySteps);",
    tests: T("optim_schedule"),
  },
  {
    id: "clip-by-squared-norm",
    file: "src/optim/clip.ts",
    find: "div(Tensor.full([], maxNorm, { backend }), addScalar(norm, 1e-6)),",
    replace: "div(Tensor.full([], maxNorm, { backend }), addScalar(total, 1e-6)),",
    tests: T("optim_schedule"),
  },

  // ---- src/train --------------------------------------------------------------------------------------------
  {
    id: "settings-no-random-length-default",
    file: "src/train/settings.ts",
    find: 'randomLength: (input.objective ?? "pretrain") === "pretrain",',
    replace: 'randomLength: input.objective === "pretrain",',
    tests: T("train_settings"),
  },
  {
    id: "settings-final-lr",
    file: "src/train/settings.ts",
    find: "finalLr: input.lr * 0.1,",
    replace: "finalLr: input.lr * 0.01,",
    tests: T("train_settings"),
  },
  {
    id: "settings-warmup-floor",
    file: "src/train/settings.ts",
    find: "warmupSteps: Math.max(1, Math.round(steps * 0.05)),",
    replace: "warmupSteps: Math.round(steps * 0.05),",
    tests: T("train_settings"),
  },
  {
    id: "step-no-random-length-default",
    file: "src/train/step.ts",
    find: 'randomLength: options.randomLength ?? options.objective === "pretrain",',
    replace: "randomLength: options.randomLength ?? false,",
    tests: T("train_settings"),
  },
  {
    id: "step-autoregressive-weights",
    file: "src/train/step.ts",
    find: ".fill(1 / (batch * (length - 1)));",
    replace: ".fill(1 / (batch * length));",
    tests: T("train_units"),
  },
  {
    id: "eval-bits-in-nats",
    file: "src/train/eval.ts",
    find: "const perChar = 1 / Math.LN2 / set.charCount;",
    replace: "const perChar = 1 / set.charCount;",
    tests: T("train_units", "train_eval"),
  },

  // ---- src/llada: forward process, losses and likelihood bound ----------------------------------------------
  {
    id: "masking-no-floor",
    file: "src/llada/forward_masking.ts",
    find: "return (1 - eps) * t + eps;",
    replace: "return (1 - eps) * t;",
    tests: T("llada_masking_floor"),
  },
  {
    id: "masking-floor-added",
    file: "src/llada/forward_masking.ts",
    find: "return (1 - eps) * t + eps;",
    replace: "return Math.min(1, t + eps);",
    tests: T("llada_masking_floor"),
  },
  {
    id: "masking-default-eps-zero",
    file: "src/llada/forward_masking.ts",
    find: "const e = eps ?? MASK_EPS;",
    replace: "const e = eps ?? 0;",
    tests: T("llada_masking_floor"),
  },
  {
    id: "random-length-probability",
    file: "src/llada/forward_masking.ts",
    find: "export const RANDOM_LENGTH_PROBABILITY = 0.01;",
    replace: "export const RANDOM_LENGTH_PROBABILITY = 0.02;",
    tests: T("llada_forward_masking"),
  },
  {
    id: "random-length-never-full",
    file: "src/llada/forward_masking.ts",
    find: "const newLength = rng.int(1, length);",
    replace: "const newLength = rng.int(1, Math.max(1, length - 1));",
    tests: T("llada_forward_masking"),
  },
  {
    id: "sft-masks-prompt",
    file: "src/llada/forward_masking.ts",
    find: "b * length + promptLength,",
    replace: "b * length,",
    tests: T("llada_forward_masking"),
  },
  {
    id: "pretrain-weight-without-p",
    file: "src/llada/loss_bound.ts",
    find: "const w = 1 / (p[b] * batch * length);",
    replace: "const w = 1 / (batch * length);",
    tests: T("llada_loss_bound"),
  },
  {
    id: "sft-weight-over-length",
    file: "src/llada/loss_bound.ts",
    find: "const w = 1 / (p[b] * answerLength * batch);",
    replace: "const w = 1 / (p[b] * length * batch);",
    tests: T("llada_loss_bound"),
  },
  {
    id: "bound-iid-unweighted",
    file: "src/llada/loss_bound.ts",
    find: "for (let i = 0; i < b; i++) weights[i] = 1 / c.p[i];",
    replace: "for (let i = 0; i < b; i++) weights[i] = 1;",
    tests: T("llada_loss_bound"),
  },
  {
    id: "bound-exact-weight",
    file: "src/llada/loss_bound.ts",
    find: "counts.forEach((l, i) => weights[i] = L / l);",
    replace: "counts.forEach((l, i) => weights[i] = 1 / l);",
    tests: T("llada_loss_bound"),
  },
  {
    id: "bound-stratified-shift",
    file: "src/llada/loss_bound.ts",
    find: "counts[i] = ((k + shift - 1) % L) + 1;",
    replace: "counts[i] = ((k + shift) % L) + 1;",
    tests: T("llada_loss_bound"),
  },
  {
    id: "log-softmax-unstabilised",
    file: "src/llada/loss_bound.ts",
    find: "return logits[offset + target] - max - Math.log(sum);",
    replace: "return logits[offset + target] - Math.log(sum);",
    tests: T("llada_loss_bound"),
  },

  // ---- src/llada: the sampler --------------------------------------------------------------------------------
  {
    id: "sampler-gumbel-float32",
    file: "src/llada/reverse_sampling.ts",
    find: "logits[v] / temperature + rng.gumbel();",
    replace: "logits[v] / temperature + Math.fround(rng.gumbel());",
    tests: T("llada_gumbel_precision"),
  },
  {
    id: "sampler-schedule-remainder-last",
    file: "src/llada/reverse_sampling.ts",
    find: "for (let i = 0; i < remainder; i++) counts[i] += 1;",
    replace: "for (let i = 0; i < remainder; i++) counts[steps - 1 - i] += 1;",
    tests: T("llada_reverse_sampling"),
  },
  {
    id: "sampler-ties-to-higher-position",
    file: "src/llada/reverse_sampling.ts",
    find: "return ci > cj ? -1 : ci < cj ? 1 : i - j;",
    replace: "return ci > cj ? -1 : ci < cj ? 1 : j - i;",
    tests: T("llada_reverse_sampling"),
  },
  {
    id: "sampler-predicts-mask",
    file: "src/llada/reverse_sampling.ts",
    find: "if (v === maskId) continue;",
    replace: "if (v === maskId && temperature === 0) continue;",
    tests: T("llada_reverse_sampling"),
  },
  {
    id: "sampler-margin-is-top1",
    file: "src/llada/reverse_sampling.ts",
    find: "return top1 - top2;",
    replace: "return top1;",
    tests: T("llada_reverse_sampling"),
  },
  {
    id: "sampler-threshold-fallback-worst",
    file: "src/llada/reverse_sampling.ts",
    find: "if (chosen.length === 0) chosen = [ranked[0]];",
    replace: "if (chosen.length === 0) chosen = [ranked[ranked.length - 1]];",
    tests: T("llada_reverse_sampling"),
  },

  {
    id: "guidance-scale-w-not-w-plus-1",
    file: "src/llada/guidance.ts",
    find: "guided[i] = c === u ? c : u + (cfgScale + 1) * (c - u);",
    replace: "guided[i] = c === u ? c : u + cfgScale * (c - u);",
    tests: T("llada_reverse_sampling", "llada_loss_bound"),
  },
  {
    id: "guidance-unconditional-sees-prompt",
    file: "src/llada/guidance.ts",
    find: "both[rows * length + i] = isPrompt[i] ? maskId : tokens[i];",
    replace: "both[rows * length + i] = tokens[i];",
    tests: T("llada_reverse_sampling", "llada_loss_bound"),
  },
  {
    id: "softmax-normaliser-unshifted",
    file: "src/llada/softmax.ts",
    find: "sum += Math.exp(logits[offset + v] - max);",
    replace: "sum += Math.exp(logits[offset + v]);",
    tests: T("llada_reverse_sampling", "llada_loss_bound"),
  },

  // ---- src/ops and the CPU backend ----------------------------------------------------------------------------
  {
    id: "max-backward-ties-unshared",
    file: "src/ops/reduce.ts",
    find: "const share = div(hits, sum(hits, a, true));",
    replace: "const share = hits;",
    tests: T("ops_max_ties"),
  },
  {
    id: "sub-backward-sign",
    file: "src/ops/elementwise.ts",
    find: "(dy) => [sumTo(dy, a.shape), sumTo(neg(dy), b.shape)]",
    replace: "(dy) => [sumTo(dy, a.shape), sumTo(dy, b.shape)]",
    tests: T("ops_grad"),
  },
  {
    id: "mul-backward-swapped",
    file: "src/ops/elementwise.ts",
    find: "(dy) => [sumTo(mul(dy, b), a.shape), sumTo(mul(dy, a), b.shape)],",
    replace: "(dy) => [sumTo(mul(dy, a), a.shape), sumTo(mul(dy, b), b.shape)],",
    tests: T("ops_grad"),
  },
  {
    id: "attention-scale-1-over-d",
    file: "src/ops/attention.ts",
    find: "scale: 1 / Math.sqrt(headDim),",
    replace: "scale: 1 / headDim,",
    tests: T("pytorch_parity", "model"),
  },
  {
    id: "cpu-rmsnorm-eps-outside-sqrt",
    file: "src/backend/cpu.ts",
    find: "const s = 1 / Math.sqrt(ss / n + eps);",
    replace: "const s = 1 / (Math.sqrt(ss / n) + eps);",
    tests: T("rmsnorm_epsilon"),
  },
  {
    id: "cpu-cross-entropy-grad-no-target",
    file: "src/backend/cpu.ts",
    find: "out[o + j] = scale * (Math.exp(X[o + j] - lse) - (j === T[r] ? 1 : 0));",
    replace: "out[o + j] = scale * Math.exp(X[o + j] - lse);",
    tests: T("cpu_backend", "ops_grad"),
  },
  {
    id: "cpu-attention-backward-no-delta",
    file: "src/backend/cpu.ts",
    find: "const ds = pij * (dp - delta) * p.scale;",
    replace: "const ds = pij * dp * p.scale;",
    tests: T("cpu_backend", "ops_grad"),
  },

  // ---- shaders ------------------------------------------------------------------------------------------------
  {
    id: "wgsl-rmsnorm-eps-outside-sqrt",
    file: "shaders/rmsnorm.wgsl",
    find: "let rstd = 1.0 / sqrt(group_reduce(sum4(ss), lid, TPR, false) / f32(P.n) + P.eps);",
    replace: "let rstd = 1.0 / (sqrt(group_reduce(sum4(ss), lid, TPR, false) / f32(P.n)) + P.eps);",
    tests: T("rmsnorm_epsilon"),
  },
  {
    id: "wgsl-softmax-sum-unshifted",
    file: "shaders/softmax.wgsl",
    find: "sum += exp(fx[o + j] - m);",
    replace: "sum += exp(fx[o + j]);",
    tests: T("webgpu_nn"),
  },
  {
    id: "wgsl-cross-entropy-grad-no-target",
    file: "shaders/cross_entropy.wgsl",
    find: "select(scale * (p - select(0.0, 1.0, i32(j) == t)), 0.0, scale == 0.0);",
    replace: "select(scale * p, 0.0, scale == 0.0);",
    tests: T("webgpu_nn"),
  },
  {
    id: "wgsl-rope-no-inverse",
    file: "shaders/rope.wgsl",
    find: "let s = P.direction * sin(angle);",
    replace: "let s = sin(angle);",
    tests: T("webgpu_nn"),
  },
  {
    id: "wgsl-attention-stale-max",
    file: "shaders/attention.wgsl",
    find: "let p = select(0.0, exp(s - m_new), ok);",
    replace: "let p = select(0.0, exp(s - m[r]), ok);",
    tests: T("webgpu_attention"),
  },
  {
    id: "wgsl-matmul-drops-last-k-lane",
    file: "shaders/matmul.wgsl",
    find: "acc[r][c] += a[r].x * v0 + a[r].y * v1 + a[r].z * v2 + a[r].w * v3;",
    replace: "acc[r][c] += a[r].x * v0 + a[r].y * v1 + a[r].z * v2;",
    occurrence: 1,
    tests: T("webgpu_matmul"),
  },
  {
    // The same bug in the kernel that reads its operands from textures (the large products).
    id: "wgsl-matmul-texture-drops-last-k-lane",
    file: "shaders/matmul.wgsl",
    find: "acc[r][c] += a[r].x * v0 + a[r].y * v1 + a[r].z * v2 + a[r].w * v3;",
    replace: "acc[r][c] += a[r].x * v0 + a[r].y * v1 + a[r].z * v2;",
    occurrence: 2,
    tests: T("webgpu_matmul"),
  },

  // ---- src/io ---------------------------------------------------------------------------------------------------
  {
    id: "bf16-ties-away-from-zero",
    file: "src/io/safetensors_format.ts",
    find: "return ((f + 0x7fff + ((f >>> 16) & 1)) >>> 16) & 0xffff;",
    replace: "return ((f + 0x8000) >>> 16) & 0xffff;",
    tests: T("io_safetensors"),
  },
  {
    id: "bf16-nan-truncated",
    file: "src/io/safetensors_format.ts",
    find: "return ((f >>> 16) | 0x40) & 0xffff;",
    replace: "return (f >>> 16) & 0xffff;",
    tests: T("io_safetensors_edges", "io_safetensors"),
  },
  {
    id: "f16-overflow-limit",
    file: "src/io/safetensors_format.ts",
    find: "if (e >= 0x1f) return sign | 0x7c00; // overflow → ±∞",
    replace: "if (e > 0x1f) return sign | 0x7c00; // overflow → ±∞",
    tests: T("io_safetensors"),
  },
  {
    id: "safetensors-header-bound",
    file: "src/io/safetensors_read.ts",
    find: "if (headerLength > bytes.length - 8) {",
    replace: "if (headerLength > bytes.length) {",
    tests: T("io_safetensors_edges", "io_safetensors", "io_safetensors_fuzz"),
  },
  {
    id: "parity-helper-nan-matches-nan",
    file: "tests/parity_helper.ts",
    find: "if (Number.isNaN(e) || Number.isNaN(a)) return fail(label, i, a, e, tol);",
    replace: "if (Number.isNaN(e) && Number.isNaN(a)) continue;",
    tests: T("parity_helper"),
  },
  {
    id: "checkpoint-optimizer-step-lost",
    file: "src/io/checkpoint.ts",
    find: "optimizer.loadState(state.optimizerStep ?? state.step, floats);",
    replace: "optimizer.loadState(0, floats);",
    tests: T("checkpoint"),
  },
];
