// attention.wgsl — fused scaled dot-product attention, forward and backward (FlashAttention's recurrences).
//
// Shapes (f32 unless noted; B batch, H heads, Tq queries, Tk keys, D = 4·D4 head dimension):
//   q, out, dout, dq: [B, H, Tq, D]     k, v, dk, dv: [B, H, Tk, D]     lse: [B, H, Tq]
//   or, with P.bthd = 1, q, out, dout, dq: [B, Tq, H, D] and k, v, dk, dv: [B, Tk, H, D] (each position's heads side
//   by side, as the model's projections produce them); lse and stats stay [B, H, Tq]. row_of() hides the difference.
//   stats: [B, H, Tq] vec2 = (lse_i, delta_i), written by attention_delta for the two gradient kernels (one
//   buffer rather than two keeps every kernel within 8 storage buffers, WebGPU's default limit)
//   key_mask: [B, Tk] i32 (0 = padding, never attended; bound but unread when has_mask = 0)
// Query i may attend to key j when key_mask[b, j] ≠ 0 and, if causal, j ≤ i. With s_ij = scale · q_i·k_j:
//   forward    out_i = Σ_j P_ij v_j,  P_ij = exp(s_ij − lse_i),  lse_i = log Σ_j exp(s_ij)   (over allowed j)
//              A row with no allowed key gets out_i = 0 and lse_i = −1e30 (the CPU backend's convention).
//   backward   delta_i = dout_i · out_i                       (attention_delta)
//              dS_ij = P_ij (dout_i·v_j − delta_i)
//              dq_i = scale Σ_j dS_ij k_j                      (attention_backward_dq: one pass over the keys)
//              dk_j = scale Σ_i dS_ij q_i,  dv_j = Σ_i P_ij dout_i   (attention_backward_dkdv: over the queries)
// Only lse is saved by the forward pass: the backward pass recomputes P from q, k and lse, so nothing of size
// Tq × Tk is ever stored. dq and dk/dv are separate kernels so that every output has one owner and no atomics.
//
// Register tiling as in matmul.wgsl: an invocation owns ROWS query rows (or key rows) of one (b, h), holds them
// in registers as vec4s and streams the other side's rows through, so each loaded key row serves ROWS queries.
// D4 is an override so the loops over the head dimension unroll into registers; the host pads head dimensions
// that are not a multiple of 4 with zeros (which change no dot product).
//
// Why textures: the rows each kernel streams through its inner loop (k and v in the forward and dq kernels, q
// and dout in the dk/dv kernel) are loaded once per block of ROWS rows, so those loads are most of the kernel's
// work. llvmpipe (Mesa 22) compiles a storage-buffer load into a loop over the SIMD lanes with a bounds check and
// a branch per lane and component, a textureLoad into a branch-free gather (see matmul.wgsl). With TEXTURES the
// kernels read the streamed rows from rgba32float copies of the buffers (texel_of says where), everything else
// from the buffers as before; the arithmetic and its order are the same, and so are the results. (The dk/dv
// kernel's one (lse, delta) per query stays in its buffer: from a texture it measured no faster.)

override WG: u32 = 64;
override D4: u32 = 8;        // head dimension / 4 (at most MAX_D4)
override TEXTURES: bool = false;  // read the streamed rows from the textures below rather than the buffers
const MAX_D4: u32 = 64u;     // head dimension ≤ 256
const ROWS: u32 = 8u;        // query rows (forward, dq) or key rows (dk/dv) per invocation

const NEG_BIG: f32 = -1e30;  // "minus infinity" that stays finite in arithmetic (−∞ − −∞ would be NaN)

struct Params {
  batch: u32,
  heads: u32,
  tq: u32,
  tk: u32,
  scale: f32,     // multiplies q·k (usually 1/√D)
  causal: u32,    // 1: query i sees keys j ≤ i
  has_mask: u32,  // 1: key_mask is bound and read
  bthd: u32,      // 1: q, k, v and their companions are [B, T, H, D]; 0: [B, H, T, D]
}
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;    // [B, H, Tq, D4] or [B, Tq, H, D4]
@group(0) @binding(2) var<storage, read> k: array<vec4<f32>>;    // [B, H, Tk, D4] or [B, Tk, H, D4]
@group(0) @binding(3) var<storage, read> v: array<vec4<f32>>;    // as k
@group(0) @binding(4) var<storage, read> key_mask: array<i32>;   // [B, Tk]

// May query i of batch item b attend to key j?
fn allowed(b: u32, i: u32, j: u32) -> bool {
  let key_ok = P.has_mask == 0u || key_mask[b * P.tk + j] != 0;
  return key_ok && (P.causal == 0u || j <= i);
}

// The row (in vec4s: multiply by D4) of batch item b, head h, position t of an operand with `len` positions.
fn row_of(b: u32, h: u32, t: u32, len: u32) -> u32 {
  return select((b * P.heads + h) * len + t, (b * len + t) * P.heads + h, P.bthd != 0u);
}

// The streamed operands as textures: texel (x, y) holds vec4 x of texture row y of the buffer cut into rows of
// H·D4 texels ([B, T, H, D]: one position's heads) or T·D4 texels ([B, H, T, D]: one head's positions). Bound
// but unread when TEXTURES is false.
@group(0) @binding(12) var kt: texture_2d<f32>;  // k (forward, dq)
@group(0) @binding(13) var vt: texture_2d<f32>;  // v (forward, dq)
@group(0) @binding(14) var qt: texture_2d<f32>;  // q (dk/dv)
@group(0) @binding(15) var gt: texture_2d<f32>;  // dout (dk/dv)

// The texel holding the first vec4 of batch item b, head h, position t of a texture operand with `len` positions.
fn texel_of(b: u32, h: u32, t: u32, len: u32) -> vec2<u32> {
  return select(vec2<u32>(t * D4, b * P.heads + h), vec2<u32>(h * D4, b * len + t), P.bthd != 0u);
}

// Which (b·H + h) and which block of ROWS rows invocation e owns, for `rows` rows per (b, h).
struct Block {
  bh: u32,     // b · H + h
  first: u32,  // first row of the block
}
fn block_of(e: u32, rows: u32) -> Block {
  let blocks = (rows + ROWS - 1u) / ROWS;
  return Block(e / blocks, (e % blocks) * ROWS);
}

// ---- forward ----------------------------------------------------------------------------------------------------
@group(0) @binding(5) var<storage, read_write> out: array<vec4<f32>>;  // as q
@group(0) @binding(6) var<storage, read_write> lse: array<f32>;        // [B, H, Tq]

@compute @workgroup_size(WG)
fn attention_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_index) lid: u32) {
  let e = flat_workgroup(wid, nwg) * WG + lid;
  let blk = block_of(e, P.tq);
  if (blk.bh >= P.batch * P.heads) {
    return;
  }
  let b = blk.bh / P.heads;
  let h = blk.bh % P.heads;
  // This invocation's queries, pre-multiplied by the scale; rows past Tq repeat the last row (never stored).
  var qs: array<array<vec4<f32>, MAX_D4>, ROWS>;
  // Online softmax state per query (Milakov & Gimelshein): running maximum m, running Σ exp(s − m) = l, and the
  // running Σ exp(s − m) v_j = acc, all rescaled by exp(m_old − m_new) whenever the maximum grows.
  var acc: array<array<vec4<f32>, MAX_D4>, ROWS>;
  var m: array<f32, ROWS>;
  var l: array<f32, ROWS>;
  for (var r = 0u; r < ROWS; r++) {
    let i = min(blk.first + r, P.tq - 1u);
    for (var d = 0u; d < D4; d++) {
      qs[r][d] = q[row_of(b, h, i, P.tq) * D4 + d] * P.scale;
      acc[r][d] = vec4<f32>(0.0);
    }
    m[r] = NEG_BIG;
    l[r] = 0.0;
  }
  // With a causal mask no query of this block sees keys past its last row.
  let end = select(P.tk, min(P.tk, blk.first + ROWS), P.causal != 0u);
  for (var j = 0u; j < end; j++) {
    var kj: array<vec4<f32>, MAX_D4>;
    var vj: array<vec4<f32>, MAX_D4>;
    let kv_row = row_of(b, h, j, P.tk);
    let kv_texel = texel_of(b, h, j, P.tk);
    for (var d = 0u; d < D4; d++) {
      if (TEXTURES) {
        kj[d] = textureLoad(kt, kv_texel + vec2<u32>(d, 0u), 0);
        vj[d] = textureLoad(vt, kv_texel + vec2<u32>(d, 0u), 0);
      } else {
        kj[d] = k[kv_row * D4 + d];
        vj[d] = v[kv_row * D4 + d];
      }
    }
    for (var r = 0u; r < ROWS; r++) {
      var s = 0.0;
      for (var d = 0u; d < D4; d++) {
        s += dot(qs[r][d], kj[d]);
      }
      let ok = allowed(b, blk.first + r, j);
      let m_new = select(m[r], max(m[r], s), ok);
      let correction = exp(m[r] - m_new);        // 1 unless the maximum grew
      let p = select(0.0, exp(s - m_new), ok);   // this key's weight, relative to the new maximum
      l[r] = l[r] * correction + p;
      for (var d = 0u; d < D4; d++) {
        acc[r][d] = acc[r][d] * correction + p * vj[d];
      }
      m[r] = m_new;
    }
  }
  for (var r = 0u; r < ROWS; r++) {
    let i = blk.first + r;
    if (i < P.tq) {
      let row = row_of(b, h, i, P.tq);
      let has_keys = l[r] > 0.0;
      for (var d = 0u; d < D4; d++) {
        out[row * D4 + d] = select(vec4<f32>(0.0), acc[r][d] / l[r], has_keys);
      }
      lse[blk.bh * P.tq + i] = select(NEG_BIG, m[r] + log(l[r]), has_keys);
    }
  }
}

// ---- backward, step 1: delta_i = dout_i · out_i -------------------------------------------------------------------
// One invocation per query row. (This is the row sum of P ⊙ dP that the softmax backward needs.)
@group(0) @binding(5) var<storage, read> bout: array<vec4<f32>>;       // out, as q
@group(0) @binding(6) var<storage, read> blse: array<f32>;             // lse [B, H, Tq]
@group(0) @binding(7) var<storage, read> dout: array<vec4<f32>>;       // as q
@group(0) @binding(8) var<storage, read_write> stats_out: array<vec2<f32>>;  // (lse, delta) [B, H, Tq]

@compute @workgroup_size(WG)
fn attention_delta(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
  let e = flat_workgroup(wid, nwg) * WG + lid;  // b·H·Tq + h·Tq + i, the row of lse and stats
  if (e >= P.batch * P.heads * P.tq) {
    return;
  }
  let bh = e / P.tq;
  let row = row_of(bh / P.heads, bh % P.heads, e % P.tq, P.tq);
  var s = 0.0;
  for (var d = 0u; d < D4; d++) {
    s += dot(dout[row * D4 + d], bout[row * D4 + d]);
  }
  stats_out[e] = vec2<f32>(blse[e], s);
}

// P_ij recomputed from the saved log-sum-exp (0 for a disallowed pair or a query row that attended to nothing).
fn prob(s: f32, row_lse: f32, ok: bool) -> f32 {
  return select(0.0, exp(s - row_lse), ok && row_lse > NEG_BIG);
}

// ---- backward, step 2: dq ---------------------------------------------------------------------------------------
@group(0) @binding(9) var<storage, read> stats: array<vec2<f32>>;      // (lse, delta) [B, H, Tq]
@group(0) @binding(10) var<storage, read_write> dq: array<vec4<f32>>;  // as q

@compute @workgroup_size(WG)
fn attention_backward_dq(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                         @builtin(local_invocation_index) lid: u32) {
  let e = flat_workgroup(wid, nwg) * WG + lid;
  let blk = block_of(e, P.tq);
  if (blk.bh >= P.batch * P.heads) {
    return;
  }
  let b = blk.bh / P.heads;
  let h = blk.bh % P.heads;
  var qs: array<array<vec4<f32>, MAX_D4>, ROWS>;   // q_i · scale
  var g: array<array<vec4<f32>, MAX_D4>, ROWS>;    // dout_i
  var acc: array<array<vec4<f32>, MAX_D4>, ROWS>;  // Σ_j dS_ij k_j
  var row_lse: array<f32, ROWS>;
  var row_delta: array<f32, ROWS>;
  for (var r = 0u; r < ROWS; r++) {
    let i = min(blk.first + r, P.tq - 1u);
    let row = row_of(b, h, i, P.tq);
    for (var d = 0u; d < D4; d++) {
      qs[r][d] = q[row * D4 + d] * P.scale;
      g[r][d] = dout[row * D4 + d];
      acc[r][d] = vec4<f32>(0.0);
    }
    let st = stats[blk.bh * P.tq + i];
    row_lse[r] = st.x;
    row_delta[r] = st.y;
  }
  let end = select(P.tk, min(P.tk, blk.first + ROWS), P.causal != 0u);
  for (var j = 0u; j < end; j++) {
    var kj: array<vec4<f32>, MAX_D4>;
    var vj: array<vec4<f32>, MAX_D4>;
    let kv_row = row_of(b, h, j, P.tk);
    let kv_texel = texel_of(b, h, j, P.tk);
    for (var d = 0u; d < D4; d++) {
      if (TEXTURES) {
        kj[d] = textureLoad(kt, kv_texel + vec2<u32>(d, 0u), 0);
        vj[d] = textureLoad(vt, kv_texel + vec2<u32>(d, 0u), 0);
      } else {
        kj[d] = k[kv_row * D4 + d];
        vj[d] = v[kv_row * D4 + d];
      }
    }
    for (var r = 0u; r < ROWS; r++) {
      var s = 0.0;   // s_ij
      var dp = 0.0;  // dP_ij = dout_i · v_j
      for (var d = 0u; d < D4; d++) {
        s += dot(qs[r][d], kj[d]);
        dp += dot(g[r][d], vj[d]);
      }
      let p = prob(s, row_lse[r], allowed(b, blk.first + r, j));
      let ds = p * (dp - row_delta[r]);
      for (var d = 0u; d < D4; d++) {
        acc[r][d] += ds * kj[d];
      }
    }
  }
  for (var r = 0u; r < ROWS; r++) {
    let i = blk.first + r;
    if (i < P.tq) {
      for (var d = 0u; d < D4; d++) {
        dq[row_of(b, h, i, P.tq) * D4 + d] = acc[r][d] * P.scale;
      }
    }
  }
}

// ---- backward, step 3: dk and dv --------------------------------------------------------------------------------
@group(0) @binding(10) var<storage, read_write> dk: array<vec4<f32>>;  // as k
@group(0) @binding(11) var<storage, read_write> dv: array<vec4<f32>>;  // as k

@compute @workgroup_size(WG)
fn attention_backward_dkdv(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                           @builtin(local_invocation_index) lid: u32) {
  let e = flat_workgroup(wid, nwg) * WG + lid;
  let blk = block_of(e, P.tk);  // this time the block is of key rows
  if (blk.bh >= P.batch * P.heads) {
    return;
  }
  let b = blk.bh / P.heads;
  let h = blk.bh % P.heads;
  var ks: array<array<vec4<f32>, MAX_D4>, ROWS>;    // k_j · scale
  var vs: array<array<vec4<f32>, MAX_D4>, ROWS>;    // v_j
  var dka: array<array<vec4<f32>, MAX_D4>, ROWS>;   // Σ_i dS_ij q_i
  var dva: array<array<vec4<f32>, MAX_D4>, ROWS>;   // Σ_i P_ij dout_i
  for (var r = 0u; r < ROWS; r++) {
    let row = row_of(b, h, min(blk.first + r, P.tk - 1u), P.tk);
    for (var d = 0u; d < D4; d++) {
      ks[r][d] = k[row * D4 + d] * P.scale;
      vs[r][d] = v[row * D4 + d];
      dka[r][d] = vec4<f32>(0.0);
      dva[r][d] = vec4<f32>(0.0);
    }
  }
  // With a causal mask only queries i ≥ j see key j: start at this block's first key.
  let start = select(0u, min(blk.first, P.tq), P.causal != 0u);
  for (var i = start; i < P.tq; i++) {
    let row = row_of(b, h, i, P.tq);
    let texel = texel_of(b, h, i, P.tq);
    var qi: array<vec4<f32>, MAX_D4>;
    var gi: array<vec4<f32>, MAX_D4>;
    for (var d = 0u; d < D4; d++) {
      if (TEXTURES) {
        qi[d] = textureLoad(qt, texel + vec2<u32>(d, 0u), 0);
        gi[d] = textureLoad(gt, texel + vec2<u32>(d, 0u), 0);
      } else {
        qi[d] = q[row * D4 + d];
        gi[d] = dout[row * D4 + d];
      }
    }
    let st = stats[blk.bh * P.tq + i];
    let li = st.x;
    let di = st.y;
    for (var r = 0u; r < ROWS; r++) {
      var s = 0.0;
      var dp = 0.0;
      for (var d = 0u; d < D4; d++) {
        s += dot(qi[d], ks[r][d]);
        dp += dot(gi[d], vs[r][d]);
      }
      let j = min(blk.first + r, P.tk - 1u);
      let p = prob(s, li, allowed(b, i, j));
      let ds = p * (dp - di);
      for (var d = 0u; d < D4; d++) {
        dka[r][d] += ds * qi[d];
        dva[r][d] += p * gi[d];
      }
    }
  }
  for (var r = 0u; r < ROWS; r++) {
    let j = blk.first + r;
    if (j < P.tk) {
      let row = row_of(b, h, j, P.tk);
      for (var d = 0u; d < D4; d++) {
        dk[row * D4 + d] = dka[r][d] * P.scale;
        dv[row * D4 + d] = dva[r][d];
      }
    }
  }
}
