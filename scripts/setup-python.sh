#!/usr/bin/env bash
# Sets up the Python environment for the GK-MVLP model package (training/). Idempotent.
#
# Why this shape: PyPI's torch wheel drags in GBs of CUDA libraries, so torch/torchvision/onnx come
# from Debian (CPU builds for /usr/bin/python3) and a venv with --system-site-packages adds only
# onnxruntime from PyPI. onnxruntime is pinned to a release whose wheel accepts Debian's numpy 1.24
# (Requires-Dist numpy>=1.21.6), and numpy is held at the system version with a constraints file so
# pip can never upgrade it. libopenblas0-pthread matters: without it Debian's torch is ~9x slower.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${GKMVLP_VENV:-$ROOT/.venv}"
SYS_PY=/usr/bin/python3

ORT_VERSION=1.23.2
RUFF_VERSION=0.14.6   # the Python linter and formatter of `npm run lint`
PIP_PINS=(
  "onnxruntime==${ORT_VERSION}"
  "coloredlogs==15.0.1"
  "humanfriendly==10.0"
  "flatbuffers==25.2.10"
  "ruff==${RUFF_VERSION}"
)

APT_PKGS=(python3-torch python3-torchvision python3-onnx libopenblas0-pthread python3-sklearn
          python3-scipy python3-matplotlib python3-tqdm python3-pydicom python3-pil python3-pytest python3-jsonschema
          python3-venv)

log() { echo "[setup-python] $*" >&2; }

missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  log "apt-get installing: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ ! -x "$VENV/bin/python" ]; then
  log "creating venv $VENV (system site packages)"
  "$SYS_PY" -m venv --system-site-packages "$VENV"
fi

have_ort="$("$VENV/bin/python" -c 'import onnxruntime; print(onnxruntime.__version__)' 2>/dev/null || true)"
have_ruff="$("$VENV/bin/ruff" --version 2>/dev/null | cut -d' ' -f2 || true)"
if [ "$have_ort" != "$ORT_VERSION" ] || [ "$have_ruff" != "$RUFF_VERSION" ]; then
  NUMPY_VERSION="$("$SYS_PY" -c 'import numpy; print(numpy.__version__)')"
  CONSTRAINTS="$(mktemp)"
  trap 'rm -f "$CONSTRAINTS"' EXIT
  echo "numpy==${NUMPY_VERSION}" >"$CONSTRAINTS"
  log "pip installing ${PIP_PINS[*]} (numpy held at ${NUMPY_VERSION})"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -c "$CONSTRAINTS" "${PIP_PINS[@]}"
fi

"$VENV/bin/python" - <<'PY'
import numpy, onnxruntime, torch, torchvision, onnx
from torchvision.ops import roi_align  # noqa: F401  (the region features need it)
print(f"[setup-python] ok: torch {torch.__version__}, torchvision {torchvision.__version__}, "
      f"onnx {onnx.__version__}, onnxruntime {onnxruntime.__version__}, numpy {numpy.__version__}")
PY
