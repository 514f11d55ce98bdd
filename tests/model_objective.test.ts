/** The objective recorded in config.json: the twin is marked, loading follows the mark and refuses a mismatch. */

import assert from "node:assert/strict";
import { CpuBackend } from "../src/backend/cpu.ts";
import { createModel } from "../src/model/llada.ts";
import {
  ConfigError,
  configToJSON,
  OBJECTIVE_FIELD,
  objectiveFromJSON,
  validateConfig,
} from "../src/model/config.ts";
import { loadModel, ObjectiveMismatchError, saveModel } from "../src/io/model_files.ts";

const backend = new CpuBackend();
const config = {
  d_model: 8,
  n_layers: 1,
  n_heads: 2,
  mlp_hidden_size: 8,
  vocab_size: 7,
  max_sequence_length: 8,
  mask_token_id: 0,
  eos_token_id: 1,
};

Deno.test("configToJSON marks only the twin, and objectiveFromJSON reads the mark back", () => {
  const c = validateConfig(config);
  const mdm = JSON.parse(configToJSON(c));
  const arm = JSON.parse(configToJSON(c, "autoregressive"));
  assert.equal(OBJECTIVE_FIELD in mdm, false);
  assert.equal(arm[OBJECTIVE_FIELD], "autoregressive");
  assert.equal(objectiveFromJSON(mdm), "mask_predictor");
  assert.equal(objectiveFromJSON(configToJSON(c, "autoregressive")), "autoregressive");
  // Apart from the mark the two files are the same official config.
  delete arm[OBJECTIVE_FIELD];
  assert.deepEqual(arm, mdm);
  assert.throws(() => objectiveFromJSON({ ...mdm, [OBJECTIVE_FIELD]: "causal" }), ConfigError);
});

Deno.test("loadModel follows the recorded objective and refuses to run a model as the other one", async () => {
  const dir = await Deno.makeTempDir();
  const twin = await createModel(config, { seed: 1, backend, causal: true });
  await saveModel(`${dir}/arm`, twin);
  await saveModel(`${dir}/mdm`, await createModel(config, { seed: 1, backend }));

  assert.equal((await loadModel(`${dir}/arm`, { backend })).causal, true);
  assert.equal((await loadModel(`${dir}/mdm`, { backend })).causal, false);
  assert.equal((await loadModel(`${dir}/arm`, { backend, causal: true })).causal, true);
  await assert.rejects(() => loadModel(`${dir}/arm`, { backend, causal: false }), ObjectiveMismatchError);
  await assert.rejects(() => loadModel(`${dir}/mdm`, { backend, causal: true }), /drop --causal/);
  // Fine-tuning one into the other asks for the switch explicitly.
  const switched = await loadModel(`${dir}/mdm`, { backend, causal: true, switchObjective: true });
  assert.equal(switched.causal, true);
  await Deno.remove(dir, { recursive: true });
});
