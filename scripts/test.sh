#!/usr/bin/env bash
# The project's one test command (`npm test`): installs what is missing, then runs every tier.
# Tiers: python (model package, tiny configs), unit + integration (real PostgreSQL and Kafka),
# end-to-end (GraphQL + subscriptions + worker + ONNX), browser (console in headless Chromium).
# Select tiers with TEST_TIERS="python node browser" (default: all).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh --with-python --with-browser

tiers="${TEST_TIERS:-python node browser}"
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
      run_tier node node --import tsx --test --test-concurrency=1 $(find test -name '*.test.ts' -not -path 'test/console/*' | sort) ;;
    browser)
      run_tier browser node --import tsx --test --test-concurrency=1 $(find test/console -name '*.test.ts' | sort) ;;
    *) echo "unknown tier $tier" >&2; exit 2 ;;
  esac
done

echo "=== summary ==="
printf '%s\n' "${summary[@]}"
exit $status
