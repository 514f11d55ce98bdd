/**
 * The seed of a test file's property tests: the file's own fixed seed, so a failure reproduces, unless
 * `LLADA_TEST_SEED` gives another (how `tests/tools/seed_sweep.sh` runs one property under many seeds).
 *
 * @module
 */

/** `LLADA_TEST_SEED` when set (an integer), else `fixed`. */
export function testSeed(fixed: number): number {
  const given = Deno.env.get("LLADA_TEST_SEED");
  if (given === undefined || given === "") return fixed;
  const seed = Number(given);
  if (!Number.isInteger(seed)) {
    throw new Error(`LLADA_TEST_SEED must be an integer, got ${JSON.stringify(given)}`);
  }
  return seed;
}
