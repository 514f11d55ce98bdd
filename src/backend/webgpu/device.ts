/**
 * Getting a WebGPU adapter and device.
 *
 * Deno and browsers have `navigator.gpu`. Where it is absent (Node), the npm package `webgpu` (Dawn) provides the
 * same API; it is imported dynamically, only on that path, so nothing else depends on it. On a machine with no GPU,
 * Deno's adapter is Mesa's llvmpipe: a real WebGPU implementation running on the CPU (`isFallbackAdapter`).
 *
 * The device is requested with the adapter's real limits rather than WebGPU's defaults (128 MiB bindings, 8
 * storage buffers per stage, 16 KiB workgroup memory), so the backend can use what the hardware allows.
 *
 * Threads: on Linux, Deno reaches the GPU (or llvmpipe) through EGL, which keeps state per thread. `deno run` uses
 * WebGPU on the main thread and is safe; `deno test` runs each file on a pool thread that it ends during the
 * process's exit, which can abort the process after its summary. Tests should use WebGPU from a Web Worker that
 * has ended before the file does, as the project's tests do (docs/webgpu_teardown.md).
 *
 * @module
 */

/** An adapter and a device created from it with the adapter's limits. */
export interface GpuContext {
  adapter: GPUAdapter;
  device: GPUDevice;
  /** The adapter's description (e.g. "llvmpipe (LLVM 15.0.6, 256 bits)"), with "(fallback adapter)" if it is one. */
  description: string;
}

/** The limits requested from the adapter at their maximum; the rest keep WebGPU's defaults. */
const LIMITS = [
  "maxStorageBufferBindingSize",
  "maxBufferSize",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupSizeY",
  "maxComputeWorkgroupSizeZ",
  "maxComputeWorkgroupsPerDimension",
  "maxStorageBuffersPerShaderStage",
  "maxUniformBufferBindingSize",
  "maxTextureDimension2D",
] as const;

/** The package that provides WebGPU to Node (Dawn), imported only where `navigator.gpu` is missing. */
const NODE_WEBGPU = "npm:webgpu@0.6.2";

/**
 * The `GPU` object: `navigator.gpu` where it exists, else the npm `webgpu` package's. Returns null (with the reason)
 * when neither is available.
 */
async function findGpu(): Promise<{ gpu: GPU | null; reason: string }> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return { gpu: nav.gpu, reason: "" };
  // Deno resolves the npm: specifier; Node resolves the bare package name from node_modules.
  const isDeno = "Deno" in globalThis;
  const specifier = isDeno ? NODE_WEBGPU : "webgpu";
  try {
    const mod = await import(specifier) as {
      create: (options: string[]) => GPU;
      globals: Record<string, unknown>;
    };
    Object.assign(globalThis, mod.globals); // GPUBufferUsage and friends, as browsers and Deno define them
    return { gpu: mod.create([]), reason: "" };
  } catch (e) {
    return {
      gpu: null,
      reason: `navigator.gpu is absent and the npm package "webgpu" could not be loaded (${
        (e as Error).message
      }); install it with \`npm install webgpu@0.6.2\`, or use the CPU backend`,
    };
  }
}

/**
 * The adapter, or null with the reason there is none. Cheap to call; used by backend selection to decide whether
 * WebGPU is available at all.
 */
export async function findAdapter(): Promise<{ adapter: GPUAdapter | null; reason: string }> {
  const { gpu, reason } = await findGpu();
  if (!gpu) return { adapter: null, reason };
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  } catch (e) {
    return { adapter: null, reason: `requestAdapter failed: ${(e as Error).message}` };
  }
  if (!adapter) {
    return { adapter: null, reason: "WebGPU is present but found no adapter (no usable GPU driver)" };
  }
  return { adapter, reason: "" };
}

/** Describes an adapter in one line. */
export function describeAdapter(adapter: GPUAdapter): string {
  const info = adapter.info;
  const name = info.description || [info.vendor, info.architecture, info.device].filter((s) => s).join(" ") ||
    "unknown adapter";
  // isFallbackAdapter moved from the adapter to its info in newer specs; accept either.
  const fallback = (info as { isFallbackAdapter?: boolean }).isFallbackAdapter ??
    (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter;
  return fallback ? `${name} (fallback adapter)` : name;
}

/**
 * Creates a device with the adapter's limits and the given optional features (those the adapter lacks are left
 * out). Throws a message that says why when there is no adapter.
 */
export async function createGpuContext(features: GPUFeatureName[] = []): Promise<GpuContext> {
  const { adapter, reason } = await findAdapter();
  if (!adapter) throw new Error(`WebGPU backend unavailable: ${reason}`);
  const requiredLimits: Record<string, number> = {};
  const supported = adapter.limits as unknown as Record<string, number>;
  for (const name of LIMITS) {
    if (typeof supported[name] === "number") requiredLimits[name] = supported[name];
  }
  const requiredFeatures = features.filter((f) => adapter.features.has(f));
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  return { adapter, device, description: describeAdapter(adapter) };
}
