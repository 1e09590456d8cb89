#!/usr/bin/env bash
# The README's first command (`npm start`), and `npm run demo` (= this with --demo).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node --import tsx scripts/main.ts "$@"
