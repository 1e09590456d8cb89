#!/usr/bin/env bash
# Candidate real-film runs on a GPU lent for minutes (the device tool: one command of at most 10 minutes).
# It trains several candidates side by side on the one GPU, each within a time budget, scores each on the packed
# corpus's validation films, and leaves weights-only checkpoints (small enough to bring back) in OUT:
#   on this machine:  python -m gkmvlp.cli.pack_real --corpus .local/real-corpus --out .local/real-pack
#                     tar czf .local/device/pack.tgz -C .local real-pack
#   on the GPU:       training/gkmvlp/configs/run-gpu-sweep.sh .local/device/pack.tgz "$OUT"
# Then, here, for the chosen candidate: fit_reliability, export, real_eval as in run-real.sh (--checkpoint OUT/X.pt).
# Candidates (fixed before any figure; the choice among them is made on validation films only). Every pre-training
# has the self-supervised term on the real films (real-pretrain-ssl.json), which raised pneumonia vs normal on the
# CPU runs 0.5.3-0.5.5 (docs/model-card.md):
#   ssl-recipe  tiny, 0.5.4's recipe (pretrain 1450 x 16, fine-tune real-finetune-0.5.json 3500 x 16), its GPU replica
#   tiny-aug    tiny, longer (pretrain 4000 x 32, fine-tune up to 12000 x 32), intensity augmentation
#   small-aug   small (wider, deeper ViT), as tiny-aug
#   small-aug75 as small-aug with 75 % of the draws real films instead of 60 %
# Knobs (env): PY (python3), SWEEP_WORK (/tmp/sweep), SWEEP_PRE_S (120), SWEEP_FT_S (220), SWEEP_ONLY (smoke only),
#   SWEEP_DEVICE (cuda; cpu checks the script here), SWEEP_SYNTH (5000 synthetic training films), SWEEP_WORKERS (16), SWEEP_DEC (600 decoder steps).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
PACK_TGZ="$(realpath "$1")"
OUT="$(realpath -m "$2")"  # absolute: the script changes directory below
PY="${PY:-python3}"
W="$(realpath -m "${SWEEP_WORK:-/tmp/sweep}")"
PRE_S="${SWEEP_PRE_S:-120}"
FT_S="${SWEEP_FT_S:-220}"
DEV="${SWEEP_DEVICE:-cuda}"
CFG="$ROOT/training/gkmvlp/configs"
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=2
mkdir -p "$W" "$OUT"
cd "$ROOT/training"
T0=$(date +%s)
log() { echo "[sweep +$(($(date +%s) - T0))s] $*" | tee -a "$OUT/sweep.log"; }
finish() {
  tar czf "$OUT/logs.tgz" -C "$W" --exclude='*.pt' --exclude='synth' --exclude='real-pack' . 2>/dev/null
  log "done (status $1)"
  exit "$1"
}
quiet() { "$@" 2>&1 | tr "\r" "\n" | grep -v -E -e "^\s*$" -e "[0-9]+%\|"; return "${PIPESTATUS[0]}"; }

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee -a "$OUT/sweep.log"
"$PY" -c "import torch, numpy, PIL, sklearn; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())" |
  tee -a "$OUT/sweep.log"
tar xzf "$PACK_TGZ" -C "$W" || finish 3
log "pack unpacked; generating the synthetic set"
quiet "$PY" -m gkmvlp.cli.generate --out "$W/synth" --seed 0 --train "${SWEEP_SYNTH:-5000}" --val 150 --test 250 --image-size 128 \
  --dicom 0 --previews 0 --workers "${SWEEP_WORKERS:-16}" --overwrite > "$W/generate.log" || finish 4

pre() {  # name size steps batch
  quiet "$PY" -m gkmvlp.cli.pretrain --config "$CFG/real-pretrain-ssl.json" --size "$2" --data "$W/synth" \
    --real-corpus "$W/real-pack" --out "$W/$1" --steps "$3" --batch-size "$4" --threads 2 --seed 0 --device "$DEV" \
    --time-budget-s "$PRE_S" --no-resume > "$W/$1.log"
}
ft() {  # name pretrain config steps batch share
  quiet "$PY" -m gkmvlp.cli.finetune --config "$CFG/$3" --init-from "$W/$2" --data "$W/synth" \
    --real-corpus "$W/real-pack" --real-share "$6" --out "$W/$1" --steps "$4" --batch-size "$5" --decoder-steps "${SWEEP_DEC:-600}" \
    --threads 2 --seed 0 --device "$DEV" --time-budget-s "$FT_S" --no-resume > "$W/$1.log" &&
    "$PY" -m gkmvlp.cli.val_scores --corpus "$W/real-pack" --checkpoint "$W/$1" --device "$DEV" >> "$OUT/val.jsonl" &&
    "$PY" -c "from gkmvlp.train.checkpoint import save_for_inference as s; s('$W/$1/checkpoint.pt', '$OUT/$1.pt')"
}

# a few steps of each path first: a mistake costs seconds, not the lease
log "smoke (pretrain 3 steps with the self-supervised term, fine-tune 3 + decoder 2 on the GPU)"
quiet "$PY" -m gkmvlp.cli.pretrain --config "$CFG/real-pretrain-ssl.json" --size tiny --data "$W/synth" --steps 3 \
  --image-only-steps 1 --max-train 64 --real-corpus "$W/real-pack" --out "$W/smoke-pre" --device "$DEV" --no-resume > "$W/smoke.log" 2>&1 ||
  { tail -30 "$W/smoke.log" | tee -a "$OUT/sweep.log"; finish 5; }
quiet "$PY" -m gkmvlp.cli.finetune --config "$CFG/gpu-finetune-aug.json" --init-from "$W/smoke-pre" --data "$W/synth" \
  --max-train 64 --real-corpus "$W/real-pack" --out "$W/smoke-ft" --steps 3 --decoder-steps 2 --device "$DEV" \
  --no-resume >> "$W/smoke.log" 2>&1 || { tail -30 "$W/smoke.log" | tee -a "$OUT/sweep.log"; finish 6; }
"$PY" -m gkmvlp.cli.val_scores --corpus "$W/real-pack" --checkpoint "$W/smoke-ft" --device "$DEV" >> "$W/smoke.log" 2>&1 ||
  { tail -30 "$W/smoke.log" | tee -a "$OUT/sweep.log"; finish 7; }
[ -n "${SWEEP_ONLY:-}" ] && finish 0

log "pre-training 3 candidates side by side (budget ${PRE_S} s each)"
pre pre-t16 tiny 1450 16 &
pre pre-t32 tiny 4000 32 &
pre pre-s32 small 4000 32 &
wait
for p in pre-t16 pre-t32 pre-s32; do grep -h "time budget\|Error\|error" "$W/$p.log" | tail -3 | sed "s/^/[$p] /" | tee -a "$OUT/sweep.log"; done
log "fine-tuning 4 candidates side by side (budget ${FT_S} s each)"
ft ssl-recipe pre-t16 real-finetune-0.5.json 3500 16 0.6 &
ft tiny-aug pre-t32 gpu-finetune-aug.json 12000 32 0.6 &
ft small-aug pre-s32 gpu-finetune-aug.json 12000 32 0.6 &
ft small-aug75 pre-s32 gpu-finetune-aug.json 12000 32 0.75 &
wait
for f in ssl-recipe tiny-aug small-aug small-aug75; do grep -h "time budget\|Error\|error\|checkpoint:" "$W/$f.log" | tail -3 | sed "s/^/[$f] /" | tee -a "$OUT/sweep.log"; done
nvidia-smi --query-gpu=memory.used --format=csv,noheader | tee -a "$OUT/sweep.log"
finish 0
