# Shared set-up of the run-*.sh scripts; sourced after they set ROOT, THREADS and LOG_TAG.
# tests/test_configs_lib.py runs these functions with a stand-in for the Python CLIs.
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

# Runs `FN ARG` for every ARG, at most two at a time (two cores), each into LOGPREFIX<ARG>.log. Returns 1 when any
# run failed: a bare `wait` after a `wait -n` loop returns 0 whatever the last runs did.
#   two_at_a_time member "$DIR/member" 3 5 6
two_at_a_time() {
  local fn=$1 logs=$2 failed=0 a p
  shift 2
  local pids=()
  for a in "$@"; do
    if [ "${#pids[@]}" -ge 2 ]; then
      wait "${pids[0]}" || failed=1
      pids=("${pids[@]:1}")
    fi
    "$fn" "$a" > "$logs$a.log" 2>&1 &
    pids+=("$!")
  done
  for p in "${pids[@]}"; do wait "$p" || failed=1; done
  return "$failed"
}

# The member recipe's two fine-tune stages on one thread: real-finetune-0.5.json (3500 + 600 decoder steps) from
# INIT into FT, then the JSRT continuation (600 + 150) from FT into CONT; FT_CONFIG / CONT_CONFIG name other
# configs in this folder. A stage with a DONE file is skipped, so a
# rerun resumes. EXTRA flags go to the first stage only (e.g. --image-size 256); the continuation takes its model
# from FT's checkpoint.
#   member_finetunes CORPUS SYNTH SEED INIT FT CONT [EXTRA...]
member_finetunes() {
  local corpus=$1 synth=$2 seed=$3 init=$4 ft=$5 cont=$6
  shift 6
  if [ ! -f "$ft/DONE" ]; then
    log "seed $seed: fine-tune into $ft"
    OMP_NUM_THREADS=1 quiet "$PY" -m gkmvlp.cli.finetune --config "$CFG/${FT_CONFIG:-real-finetune-0.5.json}" --size tiny \
      --data "$synth" --real-corpus "$corpus" --real-share 0.6 --init-from "$init" --out "$ft" --steps 3500 \
      --decoder-steps 600 --threads 1 --seed "$seed" "$@"
    touch "$ft/DONE"
  fi
  if [ ! -f "$cont/DONE" ]; then
    log "seed $seed: JSRT continuation into $cont"
    OMP_NUM_THREADS=1 quiet "$PY" -m gkmvlp.cli.finetune --config "$CFG/${CONT_CONFIG:-real-finetune-jsrt-continue.json}" \
      --size tiny --data "$synth" --real-corpus "$corpus" --real-share 0.6 --init-from "$ft" --out "$cont" \
      --steps 600 --decoder-steps 150 --threads 1 --seed "$seed"
    touch "$cont/DONE"
  fi
}
