#!/usr/bin/env bash
# Reproduces the abort at exit of `deno test` with WebGPU on Linux (docs/webgpu_teardown.md), and shows the fix.
#
#   tests/tools/webgpu_teardown/repro.sh [N]     (N runs of each variant, default 30; about 1 s a run)
#
# Each variant is 4 generated test files that import one module of this folder, run N times with `deno test`:
#   on_test_thread  the kernel runs on the test file's thread: some runs print "ok | 4 passed | 0 failed" and then
#                   abort with "double free or corruption" (exit 134)
#   in_worker       the kernel runs in a worker whose thread has exited before the file ends: every run exits 0
# Prints, per variant, how many runs exited 0, aborted (134), or exited otherwise.
set -uo pipefail
runs="${1:-30}"
if ! [[ "$runs" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 [N]   (N: runs per variant, a positive integer; got \"$runs\")" >&2
  exit 2
fi
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d /tmp/webgpu-teardown.XXXXXX)"
trap 'rm -rf "$work"' EXIT
status=0
for variant in on_test_thread in_worker; do
  mkdir -p "$work/$variant"
  for i in 1 2 3 4; do echo "import \"$here/$variant.ts\";" >"$work/$variant/t$i.test.ts"; done
  ok=0 aborted=0 other=0
  for _ in $(seq 1 "$runs"); do
    NO_COLOR=1 npx -y deno@2.9.6 test -A "$work/$variant" >"$work/log" 2>&1
    case $? in
      0) ok=$((ok + 1)) ;;
      134) aborted=$((aborted + 1)) ;;
      *) other=$((other + 1)); tail -5 "$work/log" ;;
    esac
  done
  printf '%-15s %3d runs: %3d exit 0, %3d aborted (134), %3d other\n' "$variant" "$runs" "$ok" "$aborted" "$other"
  if [ "$variant" = in_worker ] && [ "$ok" -ne "$runs" ]; then status=1; fi
done
exit "$status"
