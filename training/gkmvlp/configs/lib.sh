# Shared set-up of run-reference.sh, run-label-fractions.sh and run-ablation.sh; sourced after they set
# ROOT, THREADS and LOG_TAG.
export OMP_NUM_THREADS="$THREADS" OPENBLAS_NUM_THREADS=1 PYTHONUNBUFFERED=1  # see scripts/model-smoke.sh
PY="$ROOT/.venv/bin/python"
CFG="$ROOT/training/gkmvlp/configs"
log() { echo "[$LOG_TAG $(date +%H:%M:%S)] $*"; }
# progress bars become one line per update in the log
run() { "$@" 2>&1 | stdbuf -oL tr "\r" "\n" | grep --line-buffered -v "^\s*$"; }
# the same without the progress lines (tqdm's " 55%|██▌ | 799/1450 [..., loss=1.5]", postfix or not);
# the status is the command's (grep finding nothing is no failure)
quiet() {
  "$@" 2>&1 | stdbuf -oL tr "\r" "\n" | { grep --line-buffered -v -E -e "^\s*$" -e "[0-9]+%\|" || true; }
  return "${PIPESTATUS[0]}"
}
