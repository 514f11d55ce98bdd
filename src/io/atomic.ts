/**
 * Crash-safe writes: a file, or a whole checkpoint directory, either appears complete or not at all.
 *
 * A training run that is killed (out of memory, Ctrl-C, a power cut) in the middle of saving must not leave a
 * half-written `model.safetensors` behind, and above all must not destroy the previous checkpoint. Both
 * functions here build the new content under a temporary name next to the target, flush it to the disk
 * (`fsync`), and only then move it into place with `rename`.
 *
 * ## Why rename
 *
 * POSIX `rename(from, to)` is atomic with respect to other processes: anyone opening `to` sees either the old
 * file or the new one, never a mixture, and if `to` already exists it is replaced in the same step. It only
 * works inside one file system, which is why the temporary lives in the same directory as the target. Two
 * limits shape {@link writeDirAtomic}:
 *
 * - `rename` replaces an existing *file* (or an *empty* directory), but not a non-empty directory. Swapping a
 *   checkpoint directory therefore takes two renames (old out of the way, new into place), with a moment in
 *   between where the directory name does not exist. A reader in that moment gets "not found", never a
 *   half-written checkpoint. (Linux has `renameat2(RENAME_EXCHANGE)` for a true one-step swap, but Deno does
 *   not expose it, and a symlink-flip layout would surprise people who copy the folder to PyTorch.)
 * - `rename` is atomic, but not durable until the directory entry itself is flushed, so after renaming we
 *   `fsync` the parent directory (best effort: not every platform allows opening a directory).
 *
 * ## What happens if the process dies
 *
 * For `writeDirAtomic(dir, files)` the steps are:
 *
 * ```text
 *   1. write every file into  dir.tmp-<id>/  and fsync each       killed here: dir untouched, dir.tmp-<id> is garbage
 *   2. rename  dir        ->  dir.old-<id>                         killed here: dir missing, dir.old-<id> intact
 *   3. rename  dir.tmp-<id> -> dir                                 (new checkpoint visible from here on)
 *   4. fsync the parent; delete dir.old-<id>                       killed here: dir new, dir.old-<id> is garbage
 * ```
 *
 * The next `writeDirAtomic` on the same target first repairs and cleans: if `dir` is missing but a
 * `dir.old-*` exists (death between steps 2 and 3), the newest one is renamed back to `dir`, so the previous
 * checkpoint survives; then every leftover `dir.tmp-*` and `dir.old-*` is deleted. `writeFileAtomic` likewise
 * deletes leftover `<file>.tmp-*` siblings before writing.
 *
 * Left out on purpose: concurrent writers. One process at a time may write a given target; two writers racing
 * on the same directory could delete each other's temporaries. Readers may run at any time.
 *
 * @module
 */

/** What can be written: bytes, text (written as UTF-8), or chunks produced one after another. */
export type FileContent = Uint8Array | string | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

/**
 * The unique suffix of one write's temporaries, e.g. `tmp-lq3k9x2ab-4242-1f2e3d4c`: the time in base 36 first,
 * padded to a fixed width, so that sorting the names sorts the temporaries oldest first.
 */
function uniqueSuffix(kind: "tmp" | "old"): string {
  const random = new Uint32Array(1);
  crypto.getRandomValues(random);
  const time = Date.now().toString(36).padStart(9, "0");
  return `${kind}-${time}-${Deno.pid}-${random[0].toString(16).padStart(8, "0")}`;
}

/** Splits a path into its parent directory and last component, without a path library. */
function splitPath(path: string): { parent: string; base: string } {
  const trimmed = path.length > 1 ? path.replace(/\/+$/, "") : path;
  const slash = trimmed.lastIndexOf("/");
  if (slash < 0) return { parent: ".", base: trimmed };
  return { parent: slash === 0 ? "/" : trimmed.slice(0, slash), base: trimmed.slice(slash + 1) };
}

/** Joins a directory and a relative name with exactly one slash. */
function joinPath(dir: string, name: string): string {
  return dir.endsWith("/") ? dir + name : `${dir}/${name}`;
}

/** Writes `content` to a new file at `path` and fsyncs it. On failure the partial file is left for the caller. */
async function writeAndSync(path: string, content: FileContent): Promise<void> {
  const file = await Deno.open(path, { write: true, createNew: true });
  try {
    const chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array> = typeof content === "string"
      ? [new TextEncoder().encode(content)]
      : content instanceof Uint8Array
      ? [content]
      : content;
    for await (const chunk of chunks) {
      // `write` may write fewer bytes than asked; loop until the chunk is out.
      let done = 0;
      while (done < chunk.length) done += await file.write(chunk.subarray(done));
    }
    await file.sync();
  } finally {
    file.close();
  }
}

/** Flushes a directory's entries (the effect of a rename) to disk; silently skipped where unsupported. */
async function syncDir(dir: string): Promise<void> {
  let handle: Deno.FsFile | undefined;
  try {
    handle = await Deno.open(dir, { read: true });
    await handle.sync();
  } catch {
    // Opening or syncing a directory is not possible on every platform (e.g. Windows); the rename is still atomic.
  } finally {
    handle?.close();
  }
}

/** Removes a path (recursively), ignoring "not found". */
async function removeIfPresent(path: string): Promise<void> {
  try {
    await Deno.remove(path, { recursive: true });
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

/** Names in `parent` that start with `prefix`, sorted (oldest temporary first, see {@link uniqueSuffix}). */
async function siblingsWithPrefix(parent: string, prefix: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(parent)) {
      if (entry.name.startsWith(prefix)) names.push(entry.name);
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`cannot write into "${parent}": the directory does not exist; create it first`);
    }
    throw e;
  }
  return names.sort();
}

/** Checks a relative file name inside a checkpoint directory: no absolute paths, no `..`, no empty parts. */
function checkRelativeName(name: string, dir: string): void {
  const parts = name.split("/");
  if (name.startsWith("/") || parts.some((p) => p === "" || p === "." || p === "..") || name.includes("\\")) {
    throw new Error(
      `writeDirAtomic(${dir}): file name "${name}" must be a relative path like "config.json" or ` +
        `"tokenizer/vocab.json", without "..", "." or empty parts`,
    );
  }
}

/**
 * Writes a file so that readers see either the old content or the new, never a partial file.
 *
 * The bytes go to `<path>.tmp-<unique>` in the same directory, are fsynced, and the temporary is renamed over
 * `path`. If writing throws (disk full, or a chunk producer fails), the temporary is deleted, the error is
 * rethrown and `path` keeps its previous content. Temporaries left by a killed process are deleted on the next
 * call for the same path.
 *
 * @param path the file to create or replace; its directory must exist.
 * @param content bytes, a string (written as UTF-8), or an (async) iterable of byte chunks, which lets large
 *   files be streamed without holding them whole in memory.
 */
export async function writeFileAtomic(path: string, content: FileContent): Promise<void> {
  const { parent, base } = splitPath(path);
  for (const stale of await siblingsWithPrefix(parent, `${base}.tmp-`)) {
    await removeIfPresent(joinPath(parent, stale));
  }
  const tmp = joinPath(parent, `${base}.${uniqueSuffix("tmp")}`);
  try {
    await writeAndSync(tmp, content);
    await Deno.rename(tmp, path);
  } catch (e) {
    await removeIfPresent(tmp);
    throw e;
  }
  await syncDir(parent);
}

/**
 * Writes a whole directory (a checkpoint) so that it is replaced in one piece or not at all.
 *
 * Every file is written and fsynced inside `<dir>.tmp-<unique>`; then the existing `dir` (if any) is renamed to
 * `<dir>.old-<unique>`, the temporary is renamed to `dir`, and the old copy is deleted. If any file fails to
 * write, the temporary directory is deleted, the error is rethrown and `dir` is untouched. See the module
 * documentation for what a killed process leaves behind and how the next call repairs it.
 *
 * The directory's previous content is not merged: files not listed in `files` disappear with the old copy.
 *
 * @param dir the checkpoint directory to create or replace; its parent must exist.
 * @param files relative file name (may contain `/` for subfolders) → content, written in sorted name order.
 */
export async function writeDirAtomic(
  dir: string,
  files: ReadonlyMap<string, FileContent> | Readonly<Record<string, FileContent>>,
): Promise<void> {
  const entries = files instanceof Map ? [...files.entries()] : Object.entries(files);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [name] of entries) checkRelativeName(name, dir);

  const { parent, base } = splitPath(dir);
  const target = joinPath(parent, base); // `dir` without a trailing slash
  await recoverAndClean(parent, base);

  // Step 1: build the new checkpoint beside the target.
  const tmp = joinPath(parent, `${base}.${uniqueSuffix("tmp")}`);
  try {
    await Deno.mkdir(tmp);
    for (const [name, content] of entries) {
      const slash = name.lastIndexOf("/");
      if (slash > 0) await Deno.mkdir(joinPath(tmp, name.slice(0, slash)), { recursive: true });
      await writeAndSync(joinPath(tmp, name), content);
    }
    await syncDir(tmp);
  } catch (e) {
    await removeIfPresent(tmp);
    throw e;
  }

  // Steps 2 and 3: move the old checkpoint aside, then the new one into place.
  const old = joinPath(parent, `${base}.${uniqueSuffix("old")}`);
  let hadOld = true;
  try {
    await Deno.rename(target, old);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      await removeIfPresent(tmp);
      throw e;
    }
    hadOld = false;
  }
  try {
    await Deno.rename(tmp, target);
  } catch (e) {
    // Put the previous checkpoint back before reporting the failure.
    if (hadOld) await Deno.rename(old, target);
    await removeIfPresent(tmp);
    throw e;
  }

  // Step 4: make the renames durable, then drop the old copy.
  await syncDir(parent);
  if (hadOld) await removeIfPresent(old);
}

/**
 * Repairs what an interrupted {@link writeDirAtomic} left in `parent` for the target `base`, then deletes the
 * leftovers. If the target is missing but old copies exist, the newest old copy becomes the target again.
 */
async function recoverAndClean(parent: string, base: string): Promise<void> {
  const target = joinPath(parent, base);
  const olds = await siblingsWithPrefix(parent, `${base}.old-`);
  const targetExists = await Deno.lstat(target).then(() => true, () => false);
  if (!targetExists && olds.length > 0) {
    await Deno.rename(joinPath(parent, olds.pop()!), target);
  }
  for (const stale of [...olds, ...await siblingsWithPrefix(parent, `${base}.tmp-`)]) {
    await removeIfPresent(joinPath(parent, stale));
  }
}
