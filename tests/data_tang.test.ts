import assert from "node:assert/strict";
import { loadTangPoems, parseRegularPoem, tangCouplets } from "../src/data/tang.ts";

const raw = (paragraphs: string[]) => ({ id: "x", title: "t", author: "a", paragraphs });

Deno.test("parseRegularPoem keeps five- and seven-character quatrains and regulated verse", () => {
  const quatrain = parseRegularPoem(raw(["白日依山盡，黃河入海流。", "欲窮千里目，更上一層樓。"]));
  assert.deepEqual(quatrain?.lines, ["白日依山盡", "黃河入海流", "欲窮千里目", "更上一層樓"]);
  assert.equal(quatrain?.charsPerLine, 5);
  assert.equal(quatrain?.form, "quatrain");
  assert.equal(quatrain?.text, "白日依山盡，黃河入海流。\n欲窮千里目，更上一層樓。");
  // One paragraph holding two couplets is the same poem.
  assert.deepEqual(
    parseRegularPoem(raw(["白日依山盡，黃河入海流。欲窮千里目，更上一層樓。"]))?.lines,
    quatrain?.lines,
  );
  const seven = parseRegularPoem(raw([
    "朝辭白帝彩雲間，千里江陵一日還。",
    "兩岸猿聲啼不住，輕舟已過萬重山。",
    "朝辭白帝彩雲間，千里江陵一日還？",
    "兩岸猿聲啼不住，輕舟已過萬重山！",
  ]));
  assert.equal(seven?.charsPerLine, 7);
  assert.equal(seven?.form, "regulated");
});

Deno.test("parseRegularPoem rejects irregular poems", () => {
  const reject = (p: string[]) => assert.equal(parseRegularPoem(raw(p)), null, JSON.stringify(p));
  reject(["白日依山盡，黃河入海流。"]); // one couplet
  reject(["白日依山盡，黃河入海流。", "欲窮千里目，更上一層樓。", "白日依山盡，黃河入海流。"]); // three
  reject(["白日依山盡，黃河入海流。", "欲窮千里，更上一層樓。"]); // a short line
  reject(["白日依山盡，黃河入海流。", "朝辭白帝彩雲間，千里江陵一日還。"]); // mixed lengths
  reject(["白日依山□，黃河入海流。", "欲窮千里目，更上一層樓。"]); // a lacuna
  reject(["白日依山盡；黃河入海流。", "欲窮千里目，更上一層樓。"]); // other punctuation
});

Deno.test("Tang corpus: regular poems in traditional characters, filtered by form", async () => {
  const poems = await loadTangPoems();
  assert.ok(poems.length > 30_000 && poems.length < 40_000, `${poems.length} poems`);
  assert.equal(poems[0].title, "帝京篇十首 一");
  assert.equal(poems[0].lines[0], "秦川雄帝宅"); // 秦川雄帝宅，函谷壯皇居 (壯: traditional)
  assert.equal(poems[0].lines[1], "函谷壯皇居");
  for (const p of poems) {
    assert.equal(p.lines.length, p.form === "quatrain" ? 4 : 8);
    assert.ok(p.lines.every((l) => [...l].length === p.charsPerLine));
  }
  assert.equal(new Set(poems.map((p) => p.text)).size, poems.length, "duplicate poems");
  const fiveQuatrains = await loadTangPoems({ charsPerLine: [5], forms: ["quatrain"] });
  assert.ok(
    fiveQuatrains.length > 3000 && fiveQuatrains.every((p) => p.charsPerLine === 5 && p.form === "quatrain"),
  );
  const couplets = tangCouplets(fiveQuatrains);
  assert.equal(couplets.length, 2 * fiveQuatrains.length);
  assert.deepEqual(couplets[0], {
    first: fiveQuatrains[0].lines[0],
    second: fiveQuatrains[0].lines[1],
    poemId: fiveQuatrains[0].id,
  });
});
