#!/usr/bin/env bash
# GK module ablation at the smoke budget: the smoke recipe (configs/smoke-*.json, same data, same steps)
# with and without the GK module, over several seeds; summary with mean and spread per metric.
# About 12 minutes per run on 2 cores (6 runs by default). Resumable: finished runs are skipped.
#   nohup nice -n 19 training/gkmvlp/configs/run-ablation.sh > training/runs/ablation.log 2>&1 &
# Writes training/runs/ablation/{data,<variant>-seed<N>/{pretrain,finetune,eval}}, ablation.{json,md}.
# Knobs (env): ABL_DIR, ABL_SEEDS ("0 1 2"), ABL_TRAIN, ABL_PRETRAIN_STEPS, ABL_FINETUNE_STEPS, ABL_THREADS;
# ABL_DATA (a generated set to reuse, default $ABL_DIR/data), ABL_FINETUNE_CONFIG (default smoke-finetune.json),
# ABL_FLAGS (model flags both variants get, e.g. "--no-evidence-head" for the 2 x 2 in the model card:
#   ABL_DIR=training/runs/ablation-noev ABL_DATA=training/runs/ablation/data ABL_FLAGS=--no-evidence-head \
#   ABL_FINETUNE_CONFIG=training/gkmvlp/configs/smoke-finetune-joint-lm.json ABL_FINETUNE_STEPS=750 ...).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
DIR="$(realpath -m "${ABL_DIR:-$ROOT/training/runs/ablation}")"  # paths resolve before the cd below
SEEDS="${ABL_SEEDS:-0 1 2}"
THREADS="${ABL_THREADS:-2}"
PRE="${ABL_PRETRAIN_STEPS:-1450}"   # the smoke recipe's (scripts/model-smoke.sh)
FT="${ABL_FINETUNE_STEPS:-850}"  # + the decoder phase in smoke-finetune.json
read -r -a EXTRA <<< "${ABL_FLAGS:-}"
DATA="$(realpath -m "${ABL_DATA:-$DIR/data}")"
FT_CONFIG="$(realpath -m "${ABL_FINETUNE_CONFIG:-$ROOT/training/gkmvlp/configs/smoke-finetune.json}")"
LOG_TAG=ablation
source "$ROOT/training/gkmvlp/configs/lib.sh"

"$ROOT/scripts/setup-python.sh"
cd "$ROOT/training"
mkdir -p "$DIR"
[ -f "$DATA/dataset.json" ] || "$PY" -m gkmvlp.cli.generate --out "$DATA" --seed 0 --train "${ABL_TRAIN:-6000}" \
  --val 150 --test 250 --image-size 128 --dicom 0 --previews 0 --workers "$THREADS" --no-progress --overwrite
args=()
for variant in gk no_gk; do
  files=()
  for seed in $SEEDS; do
    run="$DIR/$variant-seed$seed"
    files+=("$run/eval/metrics.json")
    [ -f "$run/eval/metrics.json" ] && { log "$variant seed $seed: done before"; continue; }
    flag=("${EXTRA[@]}"); [ "$variant" = no_gk ] && flag+=(--no-gk-module)
    log "$variant seed $seed: pre-training"
    quiet "$PY" -m gkmvlp.cli.pretrain --config "$CFG/smoke-pretrain.json" --data "$DATA" --out "$run/pretrain" \
      --steps "$PRE" --threads "$THREADS" --seed "$seed" "${flag[@]}"
    log "$variant seed $seed: fine-tuning"
    quiet "$PY" -m gkmvlp.cli.finetune --config "$FT_CONFIG" --data "$DATA" --init-from "$run/pretrain" \
      --out "$run/finetune" --steps "$FT" --threads "$THREADS" --seed "$seed" "${flag[@]}"
    "$PY" -m gkmvlp.cli.evaluate --checkpoint "$run/finetune" --data "$DATA" --out "$run/eval" --threads "$THREADS" >/dev/null
    log "$variant seed $seed: $(python3 -c "import json,sys; m=json.load(open(sys.argv[1])); print({k: round(m[k],4) for k in ('auc_macro','localization_mean_iou','pointing_game','ce_f1','vqa_closed_acc')})" "$run/eval/metrics.json")"
  done
  args+=(--variant "$variant" "${files[@]}")
done
"$PY" -m gkmvlp.eval.ablation "${args[@]}" --out "$DIR"
