/**
 * A fresh clone's first command downloads only what it imports: Deno installs every npm package named in
 * `deno.json`'s imports or in the lockfile, so the 350 MB `chinese-poetry` (read only by the Tang loader, which
 * fetches it on first use) and `typedoc` (run only by `task docs`, with its own lockfile) must appear in neither
 * `deno.json` nor `deno.lock`; nor may `esbuild` (run only by `task playground`, with its own lockfile) or
 * `puppeteer-core` (imported only by the browser test). The test task keeps its lockfile in `tests/deno.lock` for
 * the same reason.
 */

import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);
const HEAVY = ["chinese-poetry", "typedoc", "esbuild", "puppeteer-core"];

Deno.test("deno.json and deno.lock name no package that only the Tang loader, the docs, the playground or its test uses", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  const lock = JSON.parse(await Deno.readTextFile(new URL("deno.lock", ROOT)));
  const named = [
    ...Object.values(config.imports as Record<string, string>),
    ...Object.keys(lock.specifiers ?? {}),
    ...Object.keys(lock.npm ?? {}),
  ];
  for (const heavy of HEAVY) {
    const found = named.filter((s) => s.includes(heavy));
    assert.deepEqual(
      found,
      [],
      `${heavy} is named in deno.json or deno.lock, so every fresh clone would download it; a test or a docs ` +
        `build run without the task's --lock flag added it: restore deno.lock (git checkout deno.lock) and run ` +
        `those through \`deno task test\` / \`deno task docs\``,
    );
  }
  // The demo and the library's other tasks use the project lockfile; the heavy ones use their own.
  assert.match(config.tasks.test, /--lock=tests\/deno\.lock/);
  assert.match(config.tasks.docs, /--lock=docs\/typedoc\.lock/);
  assert.match(config.tasks.playground, /--lock=scripts\/playground\.lock/);
});
