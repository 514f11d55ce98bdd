/**
 * Where each token sits: RoPE positions and the attention's key mask, from a padding mask. Shared by the network
 * (`llada.ts`) and its KV cache (`kv_cache.ts`), which must rotate a position the same way cached or not.
 *
 * @module
 */

import type { Backend } from "../backend/backend.ts";
import { Tensor } from "../tensor.ts";

/**
 * Positions and key mask from an attention mask: position = number of real tokens before this one, so a row's
 * first real token is at 0 whatever padding precedes it. Padding positions get 0 (they are never attended to).
 */
export function positionsFromMask(
  batch: number,
  length: number,
  attentionMask: Uint8Array | undefined,
  backend: Backend,
): { positions: Tensor; keyMask: Tensor | null } {
  const pos = new Int32Array(batch * length);
  for (let b = 0; b < batch; b++) {
    let p = 0;
    for (let t = 0; t < length; t++) {
      const real = !attentionMask || attentionMask[b * length + t] !== 0;
      pos[b * length + t] = real ? p++ : 0;
    }
  }
  const positions = Tensor.from(pos, [batch, length], { backend, dtype: "i32" });
  if (!attentionMask || attentionMask.every((m) => m !== 0)) return { positions, keyMask: null };
  const keyMask = Tensor.from(Int32Array.from(attentionMask), [batch, length], { backend, dtype: "i32" });
  return { positions, keyMask };
}
