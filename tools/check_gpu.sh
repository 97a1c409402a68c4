#!/usr/bin/env bash
# GPU check of an installed stack, a few minutes on one GPU. Run it from the repository root with the venv of
# either stack active (docs/installation.md):
#
#   bash tools/check_gpu.sh [WORK_DIR]        # default WORK_DIR: work_dirs/check_gpu
#
# 1. mmcv's CUDA ops: compiled with CUDA, nms / roi_align / sigmoid_focal_loss agree with CPU or PyTorch.
# 2. A few --amp training steps per task on the tiny configs (Fashion-MNIST, tree crowns, nuclei) with
#    random-init teachers: the teachers run in half precision under autocast, the agent acts and updates.
# 3. A 1-GPU tools/dist_train.sh run over NCCL.
# 4. The cost benchmark tools/benchmarks/distill_cost.py on CUDA (time and peak CUDA memory ratios).
# It needs data/fashion_mnist, data/treecrown and data/nuclei (tools/setup_env.sh, or
# tools/dataset_converters/prepare_offline_data.sh). Prints a summary; exits non-zero if a step failed.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
WORK="${1:-work_dirs/check_gpu}"
PY="${PYTHON:-python}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-4}"
CLS=configs/cls/fashion_mnist/mtkdrl_resnet18-w8_fmnist-pool3_1xb64-2e_fashion-mnist.py
DET=configs/det/treecrown/mtkdrl_retinanet_r18-w32_treecrown-pool2_1xb4-24e_treecrown-320.py
SEG=configs/seg/nuclei/mtkdrl_deeplabv3_r18-w8-d8_nuclei-pool3_1xb4-400i_nuclei-128x128.py
BENCH=tools/benchmarks/distill_cost.py
RESULTS=()
FAILED=0

log() { printf '[check_gpu] %s\n' "$*"; }

step() {  # step NAME COMMAND...: run, time and record one check; its output goes to WORK/NAME.log
  local name=$1 start rc
  shift
  start=$(date +%s)
  log "$name ..."
  "$@" >"$WORK/$name.log" 2>&1
  rc=$?
  if [ "$rc" = 0 ]; then
    RESULTS+=("PASS  $name ($(( $(date +%s) - start )) s)")
  else
    RESULTS+=("FAIL  $name (exit $rc; see $WORK/$name.log)")
    FAILED=1
    tail -n 15 "$WORK/$name.log" | sed 's/^/    /'
  fi
}

# Nothing below makes sense without a GPU: stop at once, saying why.
if ! "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  log "FAIL: no CUDA GPU is visible to torch ($("$PY" -c 'import torch; print(torch.__version__, "CUDA", torch.version.cuda)' 2>&1 | tail -n1))."
  log "Run this on a GPU machine, with a CUDA build of torch and mmcv built with its CUDA ops (docs/installation.md)."
  exit 1
fi
for d in data/fashion_mnist data/treecrown data/nuclei; do
  if [ ! -d "$d" ]; then
    log "FAIL: $d is missing: run 'bash tools/setup_env.sh' (or tools/dataset_converters/prepare_offline_data.sh)"
    exit 1
  fi
done
mkdir -p "$WORK"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | sed 's/^/[check_gpu] GPU: /'

step cuda_ops "$PY" tools/misc/check_cuda_ops.py

teachers() {  # teachers CONFIG NAME: random-init teacher checkpoints; prints the --cfg-options for them
  "$PY" tools/misc/random_teachers.py "$1" "$WORK/teachers/$2" | tail -n1
}

train_amp() {  # train_amp NAME CONFIG [cfg-options...]: a few --amp steps, no validation; the agent must update
  local name=$1 config=$2 opts
  shift 2
  opts=$(teachers "$config" "$name") || return 1
  # shellcheck disable=SC2086  # opts holds several key=value words
  "$PY" tools/train.py "$config" --amp --no-validate --work-dir "$WORK/$name" \
    --cfg-options $opts "$@" default_hooks.logger.interval=1 randomness.seed=0 || return 1
  grep -q "agent_updates: [1-9]" "$WORK/$name/"*/*.log || { echo "the agent never updated"; return 1; }
}

step amp_classification train_amp amp_classification "$CLS" train_dataloader.dataset.indices=256 \
  train_dataloader.batch_size=64 train_cfg.max_epochs=2 custom_hooks.0.interval=2
step amp_detection train_amp amp_detection "$DET" train_dataloader.dataset.indices=16 train_cfg.max_epochs=2 \
  custom_hooks.0.interval=2
step amp_segmentation train_amp amp_segmentation "$SEG" train_dataloader.dataset.indices=16 \
  train_cfg.max_iters=8 train_cfg.val_interval=8 custom_hooks.0.warmup_iters=4 custom_hooks.0.interval=4

dist_nccl() {
  local opts
  opts=$(teachers "$CLS" dist_nccl) || return 1
  # shellcheck disable=SC2086
  PORT="${PORT:-29533}" bash tools/dist_train.sh "$CLS" 1 --amp --work-dir "$WORK/dist_nccl" \
    --cfg-options $opts train_dataloader.dataset.indices=256 train_dataloader.batch_size=64 \
    train_cfg.max_epochs=1 val_dataloader.dataset.indices=512 default_hooks.logger.interval=1 &&
    grep -q "nccl" "$WORK/dist_nccl/"*/*.log
}
step dist_train_nccl dist_nccl

benchmark() {
  if [ ! -f "$BENCH" ]; then
    echo "$BENCH is missing from this checkout: update it to a version that has the cost benchmark"
    return 1
  fi
  "$PY" "$BENCH" "$CLS" --device cuda
}
step distill_cost benchmark

log "summary (logs in $WORK):"
for r in "${RESULTS[@]}"; do printf '  %s\n' "$r"; done
[ -f "$WORK/distill_cost.log" ] && { log "cost benchmark:"; tail -n 20 "$WORK/distill_cost.log"; }
exit "$FAILED"
