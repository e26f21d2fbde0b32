#!/usr/bin/env bash
# Runs every Go fuzz target in the module for FUZZTIME each (make fuzz).
#
# A real finding fails the run: go test writes a reproducer under
# testdata/fuzz/<Target>/, and that reproducer fails again when replayed as a
# plain test (which also catches hangs, through the replay's -timeout).
#
# Go's fuzz engine also fails runs where nothing is wrong with the code under
# test (golang/go#56238, #52569, #51484): "context deadline exceeded" when
# -fuzztime ends mid-exec, or "fuzzing process hung or terminated
# unexpectedly" around minimization, sometimes with a reproducer that passes.
# Such a run is reported as an engine flake, its non-reproducing input is
# moved out of testdata (to a temporary directory the message names), and the
# target is fuzzed once more; a second flake in a row fails.
#
# The replay has the engine's own per-input limit (10 s): an input that the
# engine called hung because it ran longer than that is a real finding even
# when it ends within minutes.
set -uo pipefail

GO=${GO:-go}
TAGS=${TAGS:-duckdb_arrow}
FUZZTIME=${FUZZTIME:-4s}
# Minimizing a new corpus entry may take up to 60 s per entry by default,
# which stalls a 4 s run; brief CI fuzzing does not need minimal entries.
MINTIME=${FUZZMINIMIZETIME:-2s}

cd "$(dirname "$0")/.."
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# fuzz_once DIR TARGET: 0 = passed, 1 = real failure, 2 = engine flake.
fuzz_once() {
  local dir=$1 t=$2
  if "$GO" test -tags "$TAGS" -run '^$' -fuzz "^$t\$" -fuzztime "$FUZZTIME" \
    -fuzzminimizetime "$MINTIME" "$dir" >"$out" 2>&1; then
    return 0
  fi
  local repro
  repro=$(sed -n 's/.*Failing input written to \(testdata\/fuzz\/[^ ]*\).*/\1/p' "$out" | tail -n1)
  if [ -n "$repro" ]; then
    local name=${repro##*/}
    # -timeout bounds the test binary's run (not the build): 10 s is the
    # engine's own limit for one input.
    if "$GO" test -tags "$TAGS" -count=1 -timeout 10s -run "^$t/$name\$" "$dir" >>"$out" 2>&1; then
      local keep
      keep=$(mktemp -d)
      mv "$dir/$repro" "$keep/" 2>/dev/null || true
      echo "fuzz: $dir $t: engine flake: reproducer $repro passes when replayed; moved to $keep/$name" >&2
      return 2
    fi
    cat "$out"
    echo "fuzz: $dir $t: FAILED; the failing input is kept in $dir/$repro" >&2
    echo "fuzz: replay it with: go test -tags $TAGS -run '$t/$name' $dir" >&2
    return 1
  fi
  if grep -q 'context deadline exceeded' "$out" && ! grep -q -- '--- FAIL: .*/' "$out"; then
    echo "fuzz: $dir $t: engine flake: fuzztime ended mid-exec (context deadline exceeded), nothing found" >&2
    return 2
  fi
  cat "$out"
  echo "fuzz: $dir $t: FAILED (see the output above)" >&2
  return 1
}

status=0
for dir in $(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do
  for t in $(grep -h '^func Fuzz' "$dir"/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do
    echo "fuzz $dir $t ($FUZZTIME)"
    fuzz_once "$dir" "$t"
    rc=$?
    if [ $rc -eq 2 ]; then
      echo "fuzz $dir $t: once more after the engine flake"
      fuzz_once "$dir" "$t"
      rc=$?
      [ $rc -eq 2 ] && { cat "$out"; echo "fuzz: $dir $t: two engine flakes in a row; treating as a failure" >&2; rc=1; }
    fi
    [ $rc -ne 0 ] && status=1
  done
done
exit $status
