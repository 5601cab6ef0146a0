#!/usr/bin/env bash
# The paper's Table 1 (T × K) with its ResNet-18 encoder, trained by the PyTorch twin on one GPU:
# every row at once, one process per row, for SECS seconds of wall time each, held-out PSNR every
# 500 steps (rows are compared at the last step they all reached). Plus the twin's step times on
# that device (python/stratum_torch/bench.py) and, for reference, the small encoder at T=10, K=10.
#
#   node bin/stratum.js export-data --data photos:14000:0.8:0.8 --size 32 --holdout 512 -o gpu/photos32
#   DATA=gpu/photos32 SECS=330 OUT=/some/folder scripts/gpu-table1.sh      (on the GPU machine)
#   node --import tsx scripts/gpu-table1-report.ts runs/gpu-table1           (here: the table and curves)
#
# Writes $OUT/gpu-table1.tar.gz (every row's metrics.jsonl, the small row's best weights, the logs).
set -uo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-gpu/photos32}
SECS=${SECS:-330}
DEVICE=${DEVICE:-cuda}
REPS=${REPS:-10}
BATCH=${BATCH:-32}
LR=${LR:-4e-4}
EVAL=${EVAL:-500}
SKIP_BENCH=${SKIP_BENCH:-0}
SMALL=${SMALL:-1}                                   # 0: leave out the small-encoder row
ROWS=${ROWS:-"5:10 10:5 10:10 10:20 20:10"}        # T:K of the ResNet-18 rows
RUNS=${RUNS:-/tmp/gpu-table1}
OUT=${OUT:-$RUNS}
export PYTHONPATH=$PWD/python PYTHONUNBUFFERED=1 OMP_WAIT_POLICY=passive
PY=${PY:-python3}
mkdir -p "$RUNS" "$OUT"
{
  date -u
  nvidia-smi -L 2>&1 || echo "no nvidia-smi"
  nproc
  $PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"
} | tee "$RUNS/info.txt"

# step times: the configuration of `npm run bench` (T=10, K=10, batch 32, 32², L1, Adam) and larger ones
bench() { [ "$SKIP_BENCH" = 1 ] && return 0; $PY -m stratum_torch.bench --device "$DEVICE" --threads 2 --reps "$REPS" --warmup 3 "$@" 2>&1 | tee -a "$RUNS/bench.txt"; }
bench --encoder small
bench --encoder small --pool flatten --stop-canvas-grad --ls-loss 0.9 --coverage-loss 1 --clip 1
bench --encoder resnet18
bench --encoder resnet18 --size 64
bench --encoder small --batch 256
bench --encoder resnet18 --batch 256
bench --encoder resnet18 --profile
# Table 1 rows, all at once (the GPU is mostly idle under one process at batch 32)
common=(--data "$DATA" --stop-canvas-grad --clip 1 --lr "$LR" --schedule constant --warmup 100 --batch "$BATCH"
  --steps 1000000 --eval-every "$EVAL" --save-every 1000000 --max-seconds "$SECS" --device "$DEVICE" --threads 2 --quiet)
pids=()
for tk in $ROWS; do
  set -- ${tk/:/ }
  $PY -m stratum_torch.train "${common[@]}" --encoder resnet18 --T "$1" --K "$2" -o "$RUNS/resnet18-T$1-K$2" >"$RUNS/resnet18-T$1-K$2.log" 2>&1 &
  pids+=($!)
done
if [ "$SMALL" = 1 ]; then
  $PY -m stratum_torch.train "${common[@]}" --encoder small --T 10 --K 10 -o "$RUNS/small-T10-K10" >"$RUNS/small-T10-K10.log" 2>&1 &
  pids+=($!)
fi
fails=0
for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
for f in "$RUNS"/*.log; do echo "== $f"; tail -n 3 "$f"; done
for d in "$RUNS"/*/; do
  [ -f "$d/metrics.jsonl" ] && echo "$(basename "$d"): $(grep -c . "$d/metrics.jsonl") lines, last eval: $(grep psnr "$d/metrics.jsonl" | tail -n 1)"
done
(cd "$RUNS" && touch bench.txt && tar czf "$OUT/gpu-table1.tar.gz" info.txt bench.txt ./*.log ./*/metrics.jsonl small-T10-K10/best.safetensors 2>/dev/null)
ls -la "$OUT"
echo "rows failed: $fails"
exit "$fails"
