/**
 * The smallest WebGPU work that leaves libglvnd's per-thread EGL state on the calling thread (Linux, wgpu's GL
 * path): one device, one compute kernel, one readback, then `device.destroy()`. Used by the teardown reproduction
 * (`repro.sh`, docs/webgpu_teardown.md).
 *
 * @module
 */

/** Runs `x = 2x + 1` over 1024 zeros on a new device, destroys the device, and returns x[0] (1 when it worked). */
export async function runKernel(): Promise<number> {
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error("no WebGPU adapter: this reproduction needs one (Mesa's llvmpipe will do)");
  const device = await adapter.requestDevice();
  const module = device.createShaderModule({
    code: `@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3u) { x[id.x] = 2.0 * x[id.x] + 1.0; }`,
  });
  const pipeline = device.createComputePipeline({ layout: "auto", compute: { module, entryPoint: "main" } });
  const x = device.createBuffer({ size: 4096, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  const staging = device.createBuffer({
    size: 4096,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(
    0,
    device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [{ binding: 0, resource: { buffer: x } }],
    }),
  );
  pass.dispatchWorkgroups(16);
  pass.end();
  encoder.copyBufferToBuffer(x, 0, staging, 0, 4096);
  device.queue.submit([encoder.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const first = new Float32Array(staging.getMappedRange())[0];
  staging.unmap();
  await device.queue.onSubmittedWorkDone();
  device.destroy();
  return first;
}
