#!/usr/bin/env bash
# `npm run bench`: measures inference (worker code path vs bare onnxruntime-node), PyTorch vs ONNX Runtime, the
# whole platform (GraphQL → Kafka → worker → PostgreSQL → subscription) and the gateway under load, on this
# machine. Writes its report and plots under .local/bench (BENCH_REFRESH_DOCS=1: the committed docs/benchmarks.md and
# docs/bench/*.png instead); the LAST line of stdout is one JSON summary.
# Knobs: BENCH_* environment variables (see bench/config.ts), e.g. BENCH_ROUNDS=3 BENCH_PHASES=inference,torch.
# It starts its own PostgreSQL + Kafka (own ports, .local/bench/stack), a gateway and a worker, and stops all of
# them on exit, also when it fails or is interrupted.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
WORK="${BENCH_WORK_DIR:-.local/bench}"
mkdir -p "$WORK"

cleanup() {
  # processes the bench recorded and did not stop itself (gateway, worker: each a process-group leader),
  # only while the pid still runs one of our entry points (a pid may have been reused), then its own stack
  if [[ -f "$WORK/pids" ]]; then
    local ours=()
    while read -r pid; do
      [[ -n "$pid" ]] && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qE '(services/gateway|workers/analysis)/src/main.ts' && ours+=("$pid")
    done < "$WORK/pids"
    for pid in "${ours[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
    [[ ${#ours[@]} -gt 0 ]] && sleep 2
    for pid in "${ours[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
    rm -f "$WORK/pids"
  fi
  STACK_DIR="$WORK/stack" PG_PORT="${BENCH_PG_PORT:-54359}" KAFKA_PORT="${BENCH_KAFKA_PORT:-19392}" \
    KAFKA_CONTROLLER_PORT="${BENCH_KAFKA_CONTROLLER_PORT:-19393}" \
    node --import tsx scripts/stack.ts stop >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# the Prisma client is generated (git-ignored); the Kafka jars are fetched by lib/stack when missing
[[ -f lib/db/generated/client.ts ]] || npx prisma generate >&2

node --import tsx bench/main.ts
