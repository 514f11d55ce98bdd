// matmul.wgsl — batched matrix product  C[b] = op(A[b]) · op(B[b]),  op = identity or transpose.
//
// Buffers (f32, row-major, per batch item b):
//   A: [m, k]   (or [k, m] when TRANS_A)   batch item b starts at b · strideA   (stride 0 = one A for all)
//   B: [k, n]   (or [n, k] when TRANS_B)   batch item b starts at b · strideB   (stride 0 = one B for all)
//   C: [m, n]                              batch item b starts at b · m · n
//
// Two entry points with the same tiling: matmul_tiled reads A and B from storage buffers, matmul_texture from
// rgba32float textures that to_texture fills from the same buffers (one texel = one vec4 of a row). Every invocation computes a TILE_M × (4·TILE_N4) block of C, reading A and B as
// vec4s. It needs n, k, strideA and strideB to be multiples of 4, and m too when A is stored transposed (rows of
// an untransposed A are clamped at m − 1 and never stored past it); the host pads other shapes with zeros first
// (zero rows and columns of the contracted dimension add nothing) and copies the result out. The clear,
// one-loop specification is CpuBackend.matmul, and the parity tests hold this kernel to it.
//
// Why register tiling and no workgroup memory: on a CPU WebGPU adapter (Mesa's llvmpipe) every invocation is a
// SIMD lane and every storage-buffer load whose address differs between lanes is a loop over the lanes, while
// arithmetic is one vector instruction for all of them. So the cost is the number of loads, and an invocation
// that owns a 16 × 16 block of C does 16·16 multiply-adds per 16 + 16 loaded values (the 4 × 4 blocks of the
// classic kernel do 16 per 8). Workgroup memory would not help: on llvmpipe it is loaded the same way.
//
// Why textures: llvmpipe (Mesa 22) turns every storage-buffer load into a loop over the SIMD lanes with a bounds
// check and a branch per lane and component, but a textureLoad into a branch-free gather. Copying A and B into
// textures (a copy command, or to_texture for rows that WebGPU cannot copy) and running the same tiles from them
// made the products of a training step 4–5× faster there (`LLADA_BENCH=matmul deno task bench`), a sampler's
// 83 × 96 · 96 × 96 too. Small products keep matmul_tiled: the copies cost more than they save there. On real GPUs both run, and the workgroup size below can be tuned without touching the code.

struct Params {
  m: u32,          // rows of C
  n: u32,          // columns of C
  k: u32,          // the contracted dimension
  batch: u32,      // batch items
  strideA: u32,    // elements between batch items of A (0 broadcasts)
  strideB: u32,    // elements between batch items of B (0 broadcasts)
  rowsA: u32,      // matmul_texture: texture rows between batch items of A (strideA / its row length; 0 broadcasts)
  rowsB: u32,      // matmul_texture: likewise for B
}

@group(0) @binding(0) var<uniform> P: Params;

// Invocations per workgroup. The launch is one-dimensional over the TILE_M × 4·TILE_N4 tiles of every batch item
// (folded into two dimensions by the host past 65,535 workgroups; see flat_workgroup), so every invocation owns a
// tile of C and none idles when C is narrow. (A two-dimensional launch wastes lanes: C with 64 columns has 4
// tiles across, and the other 4 of 8 lanes of a SIMD row of llvmpipe — or of a GPU's — would do nothing.)
override WG: u32 = 64;
// Which operands are stored transposed. Specialised per pipeline, so the loads of each case compile branch-free.
override TRANS_A: bool = false;
override TRANS_B: bool = false;

// Register tile per invocation: TILE_M rows × TILE_N4 vec4 columns (= 16 × 16 floats of C). These size private
// arrays, so WGSL needs them as `const`; 16 × 16 was the best measured on llvmpipe that still compiles in ~1 s
// (32 × 32 is ~15% faster at 1024³ but takes ~6 s to compile per pipeline).
const TILE_M: u32 = 16u;
const TILE_N4: u32 = 4u;

@group(0) @binding(1) var<storage, read> A4: array<vec4<f32>>;  // A as vec4s: [m, k/4] or [k, m/4] per batch item
@group(0) @binding(2) var<storage, read> B4: array<vec4<f32>>;  // B as vec4s: [k, n/4] or [n, k/4] per batch item
@group(0) @binding(3) var<storage, read_write> C4: array<vec4<f32>>;  // C as vec4s: [m, n/4] per batch item

@compute @workgroup_size(WG)
fn matmul_tiled(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let m4 = P.m / 4u;
  let n4 = P.n / 4u;
  let k4 = P.k / 4u;
  // The tile this invocation owns: tiles are numbered across each row of tiles, then down, then by batch item.
  let across = (n4 + TILE_N4 - 1u) / TILE_N4;             // tiles in one row of tiles of C
  let perItem = across * ((P.m + TILE_M - 1u) / TILE_M);  // tiles in one batch item
  let t = flat_workgroup(wid, nwg) * WG + lid;
  let b = t / perItem;
  if (b >= P.batch) {
    return;  // past the last tile
  }
  let row0 = (t % perItem) / across * TILE_M;   // first row of C this invocation owns
  let col0 = (t % across) * TILE_N4;            // first vec4 column of C this invocation owns
  let aBase = b * (P.strideA / 4u);  // offsets in vec4s
  let bBase = b * (P.strideB / 4u);

  // acc[r][c] = C(row0 + r, 4·(col0 + c) .. +3), accumulated over k.
  var acc: array<array<vec4<f32>, TILE_N4>, TILE_M>;

  // Walk k four at a time: load a TILE_M × 4 block of A and a 4 × 4·TILE_N4 block of B, then multiply-add.
  for (var kk = 0u; kk < k4; kk++) {
    // a[r] = A(row0 + r, 4kk .. 4kk+3). Rows past m are clamped to the last row (computed, never stored).
    var a: array<vec4<f32>, TILE_M>;
    if (TRANS_A) {
      // A is stored [k, m]: one vec4 holds 4 rows at one k, so load 4 k's of each group of 4 rows and transpose.
      for (var g = 0u; g < TILE_M / 4u; g++) {
        let rg = min(row0 / 4u + g, m4 - 1u);
        let t0 = A4[aBase + (4u * kk + 0u) * m4 + rg];  // A(4rg .. 4rg+3, 4kk)
        let t1 = A4[aBase + (4u * kk + 1u) * m4 + rg];  // A(4rg .. 4rg+3, 4kk+1)
        let t2 = A4[aBase + (4u * kk + 2u) * m4 + rg];
        let t3 = A4[aBase + (4u * kk + 3u) * m4 + rg];
        for (var i = 0u; i < 4u; i++) {
          a[4u * g + i] = vec4<f32>(t0[i], t1[i], t2[i], t3[i]);
        }
      }
    } else {
      // A is stored [m, k]: one vec4 is 4 consecutive k's of one row.
      for (var r = 0u; r < TILE_M; r++) {
        a[r] = A4[aBase + min(row0 + r, P.m - 1u) * k4 + kk];
      }
    }

    if (TRANS_B) {
      // B is stored [n, k]: one vec4 is 4 consecutive k's of one column of B, so each output is a dot product.
      for (var c = 0u; c < TILE_N4; c++) {
        let n0 = 4u * min(col0 + c, n4 - 1u);  // first of the 4 columns of B (clamped like the rows of A)
        let u0 = B4[bBase + (n0 + 0u) * k4 + kk];  // B(4kk .. 4kk+3, n0)
        let u1 = B4[bBase + (n0 + 1u) * k4 + kk];
        let u2 = B4[bBase + (n0 + 2u) * k4 + kk];
        let u3 = B4[bBase + (n0 + 3u) * k4 + kk];
        for (var r = 0u; r < TILE_M; r++) {
          acc[r][c] += vec4<f32>(dot(a[r], u0), dot(a[r], u1), dot(a[r], u2), dot(a[r], u3));
        }
      }
    } else {
      // B is stored [k, n]: one vec4 is 4 consecutive columns of one row of B, so C's row gains a[r].j · B's row j.
      for (var c = 0u; c < TILE_N4; c++) {
        let cc = min(col0 + c, n4 - 1u);
        let v0 = B4[bBase + (4u * kk + 0u) * n4 + cc];  // B(4kk,   4cc .. 4cc+3)
        let v1 = B4[bBase + (4u * kk + 1u) * n4 + cc];  // B(4kk+1, 4cc .. 4cc+3)
        let v2 = B4[bBase + (4u * kk + 2u) * n4 + cc];
        let v3 = B4[bBase + (4u * kk + 3u) * n4 + cc];
        for (var r = 0u; r < TILE_M; r++) {
          acc[r][c] += a[r].x * v0 + a[r].y * v1 + a[r].z * v2 + a[r].w * v3;
        }
      }
    }
  }

  // Store the tile, skipping rows and columns past the edge of C.
  let cBase = b * P.m * n4;
  for (var r = 0u; r < TILE_M; r++) {
    for (var c = 0u; c < TILE_N4; c++) {
      if (row0 + r < P.m && col0 + c < n4) {
        C4[cBase + (row0 + r) * n4 + col0 + c] = acc[r][c];
      }
    }
  }
}

// ---- the same tiles, read from textures ------------------------------------------------------------------------

// A and B as textures: texel (x, y) holds elements 4x .. 4x+3 of row y of the operand as stored (so [m, k/4] texels
// for an untransposed A, [k, m/4] for a transposed one), batch items stacked down the rows, rowsA / rowsB apart.
@group(0) @binding(4) var AT: texture_2d<f32>;
@group(0) @binding(5) var BT: texture_2d<f32>;

@compute @workgroup_size(WG)
fn matmul_texture(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
  let m4 = P.m / 4u;
  let n4 = P.n / 4u;
  let k4 = P.k / 4u;
  let across = (n4 + TILE_N4 - 1u) / TILE_N4;
  let perItem = across * ((P.m + TILE_M - 1u) / TILE_M);
  let t = flat_workgroup(wid, nwg) * WG + lid;
  let b = t / perItem;
  if (b >= P.batch) {
    return;
  }
  let row0 = (t % perItem) / across * TILE_M;
  let col0 = (t % across) * TILE_N4;
  let aRow = b * P.rowsA;  // first texture row of this batch item
  let bRow = b * P.rowsB;

  var acc: array<array<vec4<f32>, TILE_N4>, TILE_M>;
  for (var kk = 0u; kk < k4; kk++) {
    var a: array<vec4<f32>, TILE_M>;
    if (TRANS_A) {
      for (var g = 0u; g < TILE_M / 4u; g++) {
        let rg = min(row0 / 4u + g, m4 - 1u);
        let t0 = textureLoad(AT, vec2<u32>(rg, aRow + 4u * kk + 0u), 0);  // A(4rg .. 4rg+3, 4kk)
        let t1 = textureLoad(AT, vec2<u32>(rg, aRow + 4u * kk + 1u), 0);
        let t2 = textureLoad(AT, vec2<u32>(rg, aRow + 4u * kk + 2u), 0);
        let t3 = textureLoad(AT, vec2<u32>(rg, aRow + 4u * kk + 3u), 0);
        for (var i = 0u; i < 4u; i++) {
          a[4u * g + i] = vec4<f32>(t0[i], t1[i], t2[i], t3[i]);
        }
      }
    } else {
      for (var r = 0u; r < TILE_M; r++) {
        a[r] = textureLoad(AT, vec2<u32>(kk, aRow + min(row0 + r, P.m - 1u)), 0);
      }
    }

    if (TRANS_B) {
      for (var c = 0u; c < TILE_N4; c++) {
        let n0 = 4u * min(col0 + c, n4 - 1u);
        let u0 = textureLoad(BT, vec2<u32>(kk, bRow + n0 + 0u), 0);  // B(4kk .. 4kk+3, n0)
        let u1 = textureLoad(BT, vec2<u32>(kk, bRow + n0 + 1u), 0);
        let u2 = textureLoad(BT, vec2<u32>(kk, bRow + n0 + 2u), 0);
        let u3 = textureLoad(BT, vec2<u32>(kk, bRow + n0 + 3u), 0);
        for (var r = 0u; r < TILE_M; r++) {
          acc[r][c] += vec4<f32>(dot(a[r], u0), dot(a[r], u1), dot(a[r], u2), dot(a[r], u3));
        }
      }
    } else {
      for (var c = 0u; c < TILE_N4; c++) {
        let cc = min(col0 + c, n4 - 1u);
        let v0 = textureLoad(BT, vec2<u32>(cc, bRow + 4u * kk + 0u), 0);  // B(4kk, 4cc .. 4cc+3)
        let v1 = textureLoad(BT, vec2<u32>(cc, bRow + 4u * kk + 1u), 0);
        let v2 = textureLoad(BT, vec2<u32>(cc, bRow + 4u * kk + 2u), 0);
        let v3 = textureLoad(BT, vec2<u32>(cc, bRow + 4u * kk + 3u), 0);
        for (var r = 0u; r < TILE_M; r++) {
          acc[r][c] += a[r].x * v0 + a[r].y * v1 + a[r].z * v2 + a[r].w * v3;
        }
      }
    }
  }

  let cBase = b * P.m * n4;
  for (var r = 0u; r < TILE_M; r++) {
    for (var c = 0u; c < TILE_N4; c++) {
      if (row0 + r < P.m && col0 + c < n4) {
        C4[cBase + (row0 + r) * n4 + col0 + c] = acc[r][c];
      }
    }
  }
}

// to_texture: the first `texels` vec4s of SRC4 into the rows of DST, `width` texels a row (row-major, like the
// buffer). One invocation per texel.
struct TextureParams {
  width: u32,   // texels per row of DST
  texels: u32,  // texels to copy
}
@group(0) @binding(0) var<uniform> TP: TextureParams;
@group(0) @binding(1) var<storage, read> SRC4: array<vec4<f32>>;
@group(0) @binding(6) var DST: texture_storage_2d<rgba32float, write>;

@compute @workgroup_size(WG)
fn to_texture(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  let i = flat_workgroup(wid, nwg) * WG + lid;
  if (i < TP.texels) {
    textureStore(DST, vec2<u32>(i % TP.width, i / TP.width), SRC4[i]);
  }
}
