#!/usr/bin/env bash
# Runs the README's test command in N fresh clones of this repository's HEAD, one after another, the way a new
# user would (an empty node_modules, no code or type-check cache for the clone's paths), with CI=true so that
# nothing is skipped. Prints one line per run (exit status, passed and failed counts, wall time) and a summary;
# exits 0 only when every run did.
#
#   tests/tools/fresh_clone_runs.sh [N]      (N defaults to 3; one run takes 75-100 s on an idle 2-core machine)
#
# Each clone's output is kept in its run directory (printed at the end); a run that aborts leaves its core dump
# there too (`ulimit -c unlimited`; the kernel's core_pattern decides whether one is written), so its backtrace can
# be read with `gdb <deno binary> <core>`. FRESH_CLONE_DIR chooses where the clones go (default: a new temp dir).
set -uo pipefail

runs="${1:-3}"
if ! [[ "$runs" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 [N]   (N: how many fresh clones to test, a positive integer; got \"$runs\")" >&2
  exit 2
fi
repo="$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
head="$(git -C "$repo" rev-parse --short HEAD)"
base="${FRESH_CLONE_DIR:-$(mktemp -d /tmp/fresh-clone-runs.XXXXXX)}"
mkdir -p "$base"
ulimit -c unlimited 2>/dev/null || true

echo "fresh-clone runs of $head ($repo), $runs in a row, in $base"
ok=0
walls=()
for i in $(seq 1 "$runs"); do
  dir="$base/run-$i"
  rm -rf "$dir"
  git clone -q "$repo" "$dir"
  git -C "$dir" checkout -q "$head"
  start=$(date +%s.%N)
  (cd "$dir" && CI=true NO_COLOR=1 npx -y deno@2.9.6 task test >"$dir/test.log" 2>&1)
  rc=$?
  wall=$(echo "$(date +%s.%N) - $start" | bc)
  walls+=("$wall")
  # Deno's summary line: "ok | 268 passed | 0 failed (1m10s)" or "FAILED | 267 passed | 1 failed (...)".
  summary="$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$dir/test.log" | tail -1)"
  passed="$(sed -nE 's/.*\| ([0-9]+) passed.*/\1/p' <<<"$summary")"
  failed="$(sed -nE 's/.*\| ([0-9]+) failed.*/\1/p' <<<"$summary")"
  note=""
  [ "$rc" -ne 0 ] && note="  last line: $(grep -v '^\s*$' "$dir/test.log" | tail -1 | cut -c1-120)"
  ls "$dir"/core* >/dev/null 2>&1 && note="$note  core: $(ls "$dir"/core* | head -1)"
  printf 'run %2d: exit %3d  passed %4s  failed %3s  wall %6.1f s%s\n' "$i" "$rc" "${passed:--}" "${failed:--}" \
    "$wall" "$note"
  # The failed tests, as Deno lists them after " FAILURES ": "<test name> => ./tests/<file>.ts:<line>:<col>".
  sed -n '/^ *FAILURES/,$p' "$dir/test.log" | grep ' => ' | sed 's/^/        failed: /'
  [ "$rc" -eq 0 ] && ok=$((ok + 1))
done
sorted=$(printf '%s\n' "${walls[@]}" | sort -n)
printf 'summary: %d of %d runs exited 0; wall min %.1f s, max %.1f s; logs in %s\n' "$ok" "$runs" \
  "$(head -1 <<<"$sorted")" "$(tail -1 <<<"$sorted")" "$base"
[ "$ok" -eq "$runs" ]
