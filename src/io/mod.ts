/**
 * Model and checkpoint files: safetensors tensors, the official model directory layout, checkpoints, and atomic
 * file/directory writes (LLaDA's `config.json` lives with the model, in `src/model/config.ts`).
 *
 * Re-exports only; each file documents its format.
 *
 * @module
 */

export {
  bfloat16BitsToFloat32,
  type Dtype,
  float16BitsToFloat32,
  float32ToBfloat16Bits,
  float32ToFloat16Bits,
  SafetensorsError,
  type SafetensorsFile,
  type StoredTensor,
  type TensorToWrite,
  type WriteOptions,
} from "./safetensors_format.ts";
export {
  checkTensorSet,
  parseSafetensors,
  readModelTensors,
  readSafetensors,
  readShardedSafetensors,
} from "./safetensors_read.ts";
export { serializeSafetensors, writeSafetensors } from "./safetensors_write.ts";
export { type FileContent, writeDirAtomic, writeFileAtomic } from "./atomic.ts";
export {
  loadModel,
  type LoadOptions,
  modelFromFiles,
  modelTensors,
  ObjectiveMismatchError,
  saveModel,
  type SaveOptions,
} from "./model_files.ts";
export { hasCheckpoint, restoreCheckpoint, saveCheckpoint, type TrainerState } from "./checkpoint.ts";
