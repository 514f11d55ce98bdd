#!/usr/bin/env bash
# Runs one test file's property tests (optionally only the tests whose names match FILTER) under N seeds in a row,
# LLADA_TEST_SEED = 1 … N (the files that seed fast-check through tests/test_seed.ts take it), and prints one line
# per seed and a summary; exits 0 only when every seed passed. A property that holds only for its fixed seed fails
# here.
#
#   tests/tools/seed_sweep.sh FILE [FILTER] [N]     e.g. tests/tools/seed_sweep.sh tests/io_safetensors.test.ts BF16: 50
set -uo pipefail

file="${1:-}"
filter="${2:-}"
runs="${3:-50}"
if [[ -z "$file" || ! -f "$file" ]] || ! [[ "$runs" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 FILE [FILTER] [N]   (FILE: a test file that seeds through tests/test_seed.ts; N: seeds, default 50)" >&2
  exit 2
fi
if ! grep -q "testSeed(" "$file"; then
  echo "$file does not take its seed from tests/test_seed.ts, so every run would draw the same values" >&2
  exit 2
fi
repo="$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
args=(test -A "--lock=$repo/tests/deno.lock" "$file")
[[ -n "$filter" ]] && args+=(--filter "$filter")
ok=0
for seed in $(seq 1 "$runs"); do
  out="$(cd "$repo" && LLADA_TEST_SEED="$seed" NO_COLOR=1 npx -y deno@2.9.6 "${args[@]}" 2>&1)"
  rc=$?
  summary="$(grep -E '^(ok|FAILED) \| [0-9]+ passed' <<<"$out" | tail -1)"
  echo "seed $seed: exit $rc ${summary:-(no summary)}"
  if [[ $rc -eq 0 ]]; then ok=$((ok + 1)); else echo "$out" | tail -20; fi
done
echo "$ok of $runs seeds passed ($file${filter:+, tests matching \"$filter\"})"
[[ $ok -eq $runs ]]
