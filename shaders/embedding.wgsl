// embedding.wgsl — the embedding lookup (gather) and its gradient (scatter-add).
//
//   gather       out[i, :] = table[ids[i], :]           table: [vocab, dim]; ids: [count] i32; out: [count, dim]
//   scatter_add  out[v, :] = Σ_{i: ids[i] = v} dy[i, :]  dy: [count, dim]; out: [vocab, dim]
// The gradient is deterministic without float atomics: one invocation owns one column c of `out` and walks the ids
// in index order, adding dy[i, c] into row ids[i]. Every output element is thus summed in the same order as the
// CPU backend's loop. Ids outside [0, vocab) read as zero rows in gather and are skipped by scatter_add (the CPU
// backend throws for them instead; the GPU cannot).

override WG: u32 = 64;

struct Params {
  count: u32,  // number of ids
  dim: u32,    // embedding width
  vocab: u32,  // rows of the table
}
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> ids: array<i32>;  // [count]

// ---- gather: one invocation per output element (i, c) -------------------------------------------------------------
@group(0) @binding(2) var<storage, read> table: array<f32>;         // [vocab, dim]
@group(0) @binding(3) var<storage, read_write> gout: array<f32>;    // [count, dim]

@compute @workgroup_size(WG)
fn gather(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
  let e = flat_workgroup(wid, nwg) * WG + lid;  // = i · dim + c
  if (e >= P.count * P.dim) {
    return;
  }
  let id = ids[e / P.dim];
  let valid = id >= 0 && u32(id) < P.vocab;
  gout[e] = select(0.0, table[u32(max(id, 0)) * P.dim + e % P.dim], valid);
}

// ---- scatter_add: one invocation per column c ----------------------------------------------------------------------
@group(0) @binding(2) var<storage, read> dy: array<f32>;            // [count, dim]
@group(0) @binding(3) var<storage, read_write> sout: array<f32>;    // [vocab, dim]

@compute @workgroup_size(WG)
fn scatter_add(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
  let c = flat_workgroup(wid, nwg) * WG + lid;
  if (c >= P.dim) {
    return;
  }
  for (var v = 0u; v < P.vocab; v++) {
    sout[v * P.dim + c] = 0.0;  // this invocation owns column c of every row, so it clears it first
  }
  for (var i = 0u; i < P.count; i++) {
    let id = ids[i];
    if (id >= 0 && u32(id) < P.vocab) {
      sout[u32(id) * P.dim + c] += dy[i * P.dim + c];
    }
  }
}
