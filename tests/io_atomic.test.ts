/**
 * Atomic writes: a write that fails midway leaves the previous file or checkpoint intact and no temporaries;
 * leftovers of a killed process are repaired or removed by the next write.
 */
import assert from "node:assert/strict";
import { type FileContent, writeDirAtomic, writeFileAtomic } from "../src/io/mod.ts";

const text = (s: string) => new TextEncoder().encode(s);
const listDir = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

/** Chunks that stop with an error after the first one: a write interrupted midway (e.g. the disk filled up). */
async function* failsAfterFirstChunk(): AsyncGenerator<Uint8Array> {
  yield text("half of the new ");
  throw new Error("disk full (simulated)");
}

/** Runs `body` in a fresh temporary directory and removes it afterwards. */
async function inTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "llada-atomic-" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("writeFileAtomic creates and replaces a file, leaving no temporary behind", () =>
  inTempDir(async (dir) => {
    const path = `${dir}/config.json`;
    await writeFileAtomic(path, "first");
    await writeFileAtomic(path, text("second"));
    await writeFileAtomic(path, [text("th"), text("ird")]);
    assert.equal(await Deno.readTextFile(path), "third");
    assert.deepEqual(listDir(dir), ["config.json"]);
  }));

Deno.test("writeFileAtomic: a write that throws midway keeps the old content and removes its temporary", () =>
  inTempDir(async (dir) => {
    const path = `${dir}/model.safetensors`;
    await writeFileAtomic(path, "old weights");
    await assert.rejects(writeFileAtomic(path, failsAfterFirstChunk()), /disk full \(simulated\)/);
    assert.equal(await Deno.readTextFile(path), "old weights");
    assert.deepEqual(listDir(dir), ["model.safetensors"]);
  }));

Deno.test("writeFileAtomic removes temporaries a killed process left, and names a missing directory", () =>
  inTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/a.json.tmp-000000001-1-deadbeef`, "half");
    await Deno.writeTextFile(`${dir}/other.json.tmp-000000001-1-deadbeef`, "not ours");
    await writeFileAtomic(`${dir}/a.json`, "{}");
    assert.deepEqual(listDir(dir), ["a.json", "other.json.tmp-000000001-1-deadbeef"]);
    await assert.rejects(
      writeFileAtomic(`${dir}/missing/a.json`, "{}"),
      /cannot write into ".*\/missing": the directory does not exist; create it first/,
    );
  }));

Deno.test("writeDirAtomic creates a checkpoint, then replaces it whole (files not rewritten disappear)", () =>
  inTempDir(async (parent) => {
    const dir = `${parent}/ckpt`;
    await writeDirAtomic(dir, {
      "config.json": "{1}",
      "model.safetensors": text("w1"),
      "tokenizer/vocab.json": "[]",
    });
    assert.deepEqual(listDir(dir), ["config.json", "model.safetensors", "tokenizer"]);
    assert.equal(await Deno.readTextFile(`${dir}/tokenizer/vocab.json`), "[]");
    await writeDirAtomic(
      `${dir}/`,
      new Map<string, FileContent>([["config.json", "{2}"], ["model.safetensors", text("w2")]]),
    );
    assert.deepEqual(listDir(dir), ["config.json", "model.safetensors"]);
    assert.equal(await Deno.readTextFile(`${dir}/config.json`), "{2}");
    assert.deepEqual(listDir(parent), ["ckpt"]);
  }));

Deno.test("writeDirAtomic: a file failing midway leaves the previous checkpoint intact and no temporaries", () =>
  inTempDir(async (parent) => {
    const dir = `${parent}/ckpt`;
    await writeDirAtomic(dir, { "config.json": "old config", "model.safetensors": "old weights" });
    // config.json is written first (sorted order), then model.safetensors fails halfway through.
    await assert.rejects(
      writeDirAtomic(dir, { "config.json": "new config", "model.safetensors": failsAfterFirstChunk() }),
      /disk full \(simulated\)/,
    );
    assert.equal(await Deno.readTextFile(`${dir}/config.json`), "old config");
    assert.equal(await Deno.readTextFile(`${dir}/model.safetensors`), "old weights");
    assert.deepEqual(listDir(parent), ["ckpt"]);
  }));

Deno.test("writeDirAtomic repairs a swap killed between its two renames, then cleans the leftovers", () =>
  inTempDir(async (parent) => {
    const dir = `${parent}/ckpt`;
    // What a process killed after "rename dir → dir.old-*" leaves: no ckpt, the previous one set aside,
    // and a (complete or partial) new one under its temporary name.
    await Deno.mkdir(`${parent}/ckpt.old-000000001-7-aaaaaaaa`);
    await Deno.writeTextFile(`${parent}/ckpt.old-000000001-7-aaaaaaaa/config.json`, "previous");
    await Deno.mkdir(`${parent}/ckpt.tmp-000000001-7-bbbbbbbb`);
    await Deno.writeTextFile(`${parent}/ckpt.tmp-000000001-7-bbbbbbbb/config.json`, "partial");
    // Even if the next write fails, the previous checkpoint is back in place and the debris is gone.
    await assert.rejects(writeDirAtomic(dir, { "config.json": failsAfterFirstChunk() }), /disk full/);
    assert.equal(await Deno.readTextFile(`${dir}/config.json`), "previous");
    assert.deepEqual(listDir(parent), ["ckpt"]);

    // With both an old copy and the target present (killed after the swap, before cleanup), the target wins.
    await Deno.mkdir(`${parent}/ckpt.old-000000002-7-cccccccc`);
    await writeDirAtomic(dir, { "config.json": "next" });
    assert.equal(await Deno.readTextFile(`${dir}/config.json`), "next");
    assert.deepEqual(listDir(parent), ["ckpt"]);
  }));

Deno.test("writeDirAtomic refuses file names that would escape the checkpoint directory", () =>
  inTempDir(async (parent) => {
    for (const name of ["../evil", "/abs", "a//b", "./x", "a\\b"]) {
      await assert.rejects(writeDirAtomic(`${parent}/ckpt`, { [name]: "x" }), /must be a relative path/);
    }
    assert.deepEqual(listDir(parent), []);
  }));

Deno.test("writeDirAtomic: a process killed (SIGKILL) while writing leaves the previous checkpoint readable", () =>
  inTempDir(async (parent) => {
    const dir = `${parent}/ckpt`;
    await writeDirAtomic(dir, { "config.json": "old config", "model.safetensors": "old weights" });
    // A child process starts a new write, signals once half a file is out, then stalls until it is killed.
    const script = `
      import { writeDirAtomic } from ${JSON.stringify(new URL("../src/io/mod.ts", import.meta.url).href)};
      async function* slow() {
        yield new TextEncoder().encode("half of the new weights");
        console.log("writing");
        await new Promise(() => setInterval(() => {}, 1000));
      }
      await writeDirAtomic(${
      JSON.stringify(dir)
    }, { "config.json": "new config", "model.safetensors": slow() });
    `;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["eval", script],
      stdout: "piped",
      stderr: "inherit",
    })
      .spawn();
    const reader = child.stdout.getReader();
    const { value } = await reader.read();
    assert.match(new TextDecoder().decode(value), /writing/);
    child.kill("SIGKILL");
    await child.status;
    await reader.cancel();

    assert.equal(await Deno.readTextFile(`${dir}/model.safetensors`), "old weights");
    assert.equal(listDir(parent).length, 2, "the killed write leaves its temporary directory");
    await writeDirAtomic(dir, { "config.json": "next" });
    assert.deepEqual(listDir(parent), ["ckpt"]);
  }));
