import assert from "node:assert/strict";
import { BROWN_GENRES, detokenizeBrown, joinBrownWords, loadBrown } from "../src/data/brown.ts";
import { CharTokenizer } from "../src/tokenizer/char.ts";

Deno.test("Brown detokeniser: tags stripped, quotes and punctuation spaced as in print", () => {
  const tagged = "\n\n\tThe/at Fulton/np-tl County/nn-tl Grand/jj-tl Jury/nn-tl said/vbd Friday/nr an/at " +
    "investigation/nn of/in Atlanta's/np$ recent/jj primary/nn election/nn produced/vbd ``/`` no/at " +
    "evidence/nn ''/'' that/cs any/dti irregularities/nns took/vbd place/nn ./.\n\n\n";
  assert.equal(
    detokenizeBrown(tagged),
    "The Fulton County Grand Jury said Friday an investigation of Atlanta's recent primary election " +
      'produced "no evidence" that any irregularities took place.\n',
  );
});

Deno.test("Brown detokeniser repairs doubled marks, double periods and quotes before punctuation", () => {
  const words = (s: string) => s.split(" ");
  assert.equal(
    joinBrownWords(words("`` Only a handful was received '' , the jury said , `` considering the city '' .")),
    '"Only a handful was received," the jury said, "considering the city."',
  );
  assert.equal(joinBrownWords(words("`` Where is it '' ? ? Alex asked")), '"Where is it?" Alex asked');
  assert.equal(
    joinBrownWords(words("the baseball ; ; but it was won by Ivan Allen Jr. .")),
    "the baseball; but it was won by Ivan Allen Jr.",
  );
  assert.equal(
    joinBrownWords(words("he said ( quietly ) : ' See Joe ' -- and left")),
    "he said (quietly): 'See Joe' -- and left",
  );
  // The tag is what follows the last slash: "1/2/cd" is the word "1/2".
  assert.equal(detokenizeBrown("a/at 1/2/cd inch/nn ,/, 12''/nn long/jj ./.\n"), 'a 1/2 inch, 12" long.\n');
});

Deno.test("Brown detokeniser: paragraphs on lines of their own, headlines separate", () => {
  const tagged =
    "\n\nAssembly/nn-hl session/nn-hl\nThe/at Assembly/nn-tl met/vbd ./.\nIt/pps ended/vbd ./.\n\n\n" +
    "\tNext/ap day/nn ./.\n";
  assert.equal(detokenizeBrown(tagged), "Assembly session\nThe Assembly met. It ended.\nNext day.\n");
});

Deno.test("Brown corpus: 500 documents of plain English, ASCII, a small character vocabulary", async () => {
  const t0 = performance.now();
  const docs = await loadBrown();
  const seconds = (performance.now() - t0) / 1000;
  assert.ok(seconds < 10, `loading Brown took ${seconds.toFixed(1)} s`);
  assert.equal(docs.length, 500);
  assert.equal(docs[0].id, "ca01");
  assert.equal(docs[499].id, "cr09");
  assert.deepEqual(new Set(docs.map((d) => d.genre)), new Set(Object.keys(BROWN_GENRES)));
  assert.ok(
    docs[0].text.startsWith("The Fulton County Grand Jury said Friday an investigation of Atlanta's"),
  );
  const chars = docs.reduce((n, d) => n + d.text.length, 0);
  assert.ok(chars > 5_800_000 && chars < 6_100_000, `Brown has ${chars} characters`);
  const all = docs.map((d) => d.text);
  const joined = all.join("");
  assert.ok(!joined.includes("``") && !joined.includes("''"), "LaTeX quotes left in the text");
  assert.ok(!/[?!;]{2}/.test(joined), "doubled marks left in the text");
  // Only one space before punctuation in the whole corpus, a race time written " :35.3".
  assert.deepEqual([...joined.matchAll(/ [,.;:?!]/g)].map((m) => joined.slice(m.index, m.index + 6)), [
    " :35.3",
  ]);
  // The tags are gone: no token of the form word/tag remains (fractions such as 1/2 are words).
  assert.ok(!/[A-Za-z]\/(at|nn|vbd|in|jj)\b/.test(joined));
  const tok = CharTokenizer.fromTexts(all);
  assert.ok(tok.symbols.length <= 100, `${tok.symbols.length} symbols`);
  assert.ok(tok.symbols.every((s) => s.charCodeAt(0) < 128), "non-ASCII character in Brown");
  assert.strictEqual(await loadBrown(), docs, "the parsed corpus is cached");
});
