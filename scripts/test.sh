#!/usr/bin/env bash
# The project's one test command (`npm test`): installs what is missing, then runs every tier.
# Tiers: python (model package, tiny configs), unit + integration (real PostgreSQL and Kafka),
# end-to-end (GraphQL + subscriptions + worker + ONNX), browser (console in headless Chromium).
# Select tiers with TEST_TIERS="python node browser" (default: all).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh --with-python --with-browser

tiers="${TEST_TIERS:-python node browser}"

# Bundles: a fresh tiny export (random init) made by the Python exporter in this run, for the TypeScript
# parity tests; and the shipped bundle under models/ (the trained one the platform runs), when present.
echo "=== exporting a fresh tiny test bundle with the Python exporter ==="
.venv/bin/python scripts/export-test-bundle.py .local/test-bundle
export GKMVLP_TEST_BUNDLE="$PWD/.local/test-bundle"
shipped=$(ls -d models/*/ 2>/dev/null | while read -r d; do [ -f "$d/manifest.json" ] && echo "${d%/}"; done | sort | tail -n 1)
export GKMVLP_BUNDLE="$PWD/${shipped:-.local/test-bundle}"
echo "shipped bundle: ${shipped:-none (using the test bundle)}"
status=0
summary=()

run_tier() {
  local name="$1"; shift
  echo "=== tier: $name ==="
  local started=$SECONDS
  if "$@"; then summary+=("$name: passed in $((SECONDS - started))s");
  else status=1; summary+=("$name: FAILED in $((SECONDS - started))s"); fi
}

for tier in $tiers; do
  case "$tier" in
    python)
      run_tier python bash -c 'cd training && ../.venv/bin/python -m pytest tests -q -p no:cacheprovider' ;;
    node)
      run_tier typecheck npx tsc -p tsconfig.json --noEmit
      run_tier node node --import tsx --test --test-concurrency=1 $(find test -name '*.test.ts' -not -path 'test/console/*' | sort)
      if [ -n "$shipped" ]; then
        run_tier shipped-bundle-parity env GKMVLP_TEST_BUNDLE="$PWD/$shipped" node --import tsx --test test/worker/*.test.ts
      fi ;;
    browser)
      run_tier browser node --import tsx --test --test-concurrency=1 $(find test/console -name '*.test.ts' | sort) ;;
    *) echo "unknown tier $tier" >&2; exit 2 ;;
  esac
done

echo "=== summary ==="
printf '%s\n' "${summary[@]}"
passed=$(printf '%s\n' "${summary[@]}" | grep -c ': passed' || true)
failed=$(printf '%s\n' "${summary[@]}" | grep -c ': FAILED' || true)
echo "tiers: $passed passed, $failed failed"
exit $status
