#!/usr/bin/env bash
# The project's one test command (`npm test`): installs what is missing, then runs every tier.
# Tiers: python (model package, tiny configs), unit + integration (real PostgreSQL and Kafka),
# end-to-end (GraphQL + subscriptions + worker + ONNX), browser (console in headless Chromium), adversarial
# (the attacks of issue 14 replayed against a platform of its own: test/adversarial; trimmed here, set
# ADVERSARIAL_MODE=full for the whole run), lint (Biome for TypeScript and JSON, ruff for Python: `npm run lint`).
# cluster (a 3-broker KRaft cluster of its own loses one broker for good mid-run: test/cluster).
# Select tiers with TEST_TIERS="lint python cluster node browser adversarial" (default: all).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh --with-python --with-browser

# The cluster tier runs before the tiers that start the shared test stack: right after the browser tier it timed out
# waiting for its consumer (TEST_TIERS="browser cluster" reproduces it; alone or after adversarial it passes in ~40 s;
# cause not found yet, see the session 11 note on issue 14).
tiers="${TEST_TIERS:-lint python cluster node browser adversarial}"

# Bundles: a fresh tiny export (random init) made by the Python exporter in this run, for the TypeScript
# parity tests; and the shipped bundle under models/ (the trained one the platform runs), when present.
echo "=== exporting a fresh tiny test bundle with the Python exporter ==="
.venv/bin/python scripts/export-test-bundle.py .local/test-bundle
export GKMVLP_TEST_BUNDLE="$PWD/.local/test-bundle"
# Every shipped bundle gets the parity tier; the platform's tests run the default one (models/DEFAULT).
shipped_all=$(ls -d models/*/ 2>/dev/null | while read -r d; do [ -f "$d/manifest.json" ] && echo "${d%/}"; done | sort)
# the platform's own rule (lib/bundles: models/DEFAULT, or the only bundle), not a shell copy of it
default=$(node --import tsx -e "import('./lib/bundles/index.ts').then((m) => { const b = m.shippedBundle(); if (b.issue) console.error('no default bundle: ' + b.issue); console.log(b.dir ?? ''); })")
export GKMVLP_BUNDLE="${default:-$PWD/.local/test-bundle}"
echo "default bundle: ${default:-none (using the test bundle)}; shipped: $(echo $shipped_all)"
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
    lint)
      run_tier lint npm run --silent lint ;;
    python)
      run_tier python bash -c 'cd training && ../.venv/bin/python -m pytest tests -q -p no:cacheprovider' ;;
    node)
      run_tier typecheck npx tsc -p tsconfig.json --noEmit
      run_tier node node --import tsx --test --test-concurrency=1 $(find test -name '*.test.ts' -not -path 'test/console/*' | sort)
      for b in $shipped_all; do
        run_tier "shipped-bundle-parity ($(basename "$b"))" env GKMVLP_TEST_BUNDLE="$PWD/$b" node --import tsx --test test/worker/*.test.ts
      done ;;
    browser)
      run_tier browser node --import tsx --test --test-concurrency=1 $(find test/console -name '*.test.ts' | sort) ;;
    adversarial)
      run_tier adversarial env ADVERSARIAL_MODE="${ADVERSARIAL_MODE:-trimmed}" node --import tsx test/adversarial/main.ts ;;
    cluster)
      run_tier cluster node --import tsx --test --test-concurrency=1 $(find test/cluster -name '*.cluster.ts' | sort) ;;
    *) echo "unknown tier $tier" >&2; exit 2 ;;
  esac
done

echo "=== summary ==="
printf '%s\n' "${summary[@]}"
passed=$(printf '%s\n' "${summary[@]}" | grep -c ': passed' || true)
failed=$(printf '%s\n' "${summary[@]}" | grep -c ': FAILED' || true)
echo "tiers: $passed passed, $failed failed"
exit $status
