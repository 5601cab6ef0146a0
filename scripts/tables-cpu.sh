#!/usr/bin/env bash
# The paper's Tables 1 and 2 at 3000 steps a row on this machine's CPU, carried across sessions:
# the finished rows, their held-out curves and the small training states live in data/tables-*,
# a session trains on in $RUNS and puts what it got back before it stops.
#
#   bash scripts/tables-cpu.sh start    copy data/tables-* into $RUNS and start the queue below in the
#                                       background (nice 19, its own scheduling group at 19, so work
#                                       in the foreground keeps the CPU); log: $RUNS/queue.log
#   bash scripts/tables-cpu.sh status   the queue's last progress line
#   bash scripts/tables-cpu.sh keep     stop the queue and merge $RUNS back into data/tables-*
#                                       (scripts/merge-table-runs.ts); a state over 20 MB (the
#                                       ResNet decoder's, ResNet-18's) is not kept: its row restarts
#
# The queue: one training at a time (two at once on 2 cores each run at less than half speed), each
# experiment skipping the rows already finished. Recipe: small encoder unless named, canvas detached
# (--stop-canvas-grad), Adam 1e-3 constant, batch 32, 256 held-out images. THREADS (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-/work/runs-tables}
KEEP=${KEEP:-data}                                  # where the tables-* folders are kept
THREADS=${THREADS:-2}
SETS=(patches fashion)
declare -A DATA=([patches]=patches:/usr/share/backgrounds:96 [fashion]=fashion-mnist)
# data-set table encoder [rows]
JOBS=(
  "patches table1 small"
  "patches table2 small"
  "fashion table1 small"
  "fashion table2 small"
  "patches table1 resnet18 T=10:K=10,T=20:K=10"
)

queue() {
  for job in "${JOBS[@]}"; do
    read -r set table encoder rows <<<"$job"
    echo "== $(date -u +%FT%TZ) $job"
    node bin/stratum.js experiment "$table" --data "${DATA[$set]}" --steps 3000 --batch 32 --holdout 256 \
      --encoder "$encoder" --stop-canvas-grad ${rows:+--rows "$rows"} -o "$RUNS/$set" </dev/null || echo "== failed: $job"
  done
  echo "== $(date -u +%FT%TZ) queue done"
}

case "${1:-}" in
  start)
    if [ -f "$RUNS/queue.pid" ] && kill -0 "$(cat "$RUNS/queue.pid")" 2>/dev/null; then echo "$RUNS: the queue is running (process $(cat "$RUNS/queue.pid"))" >&2; exit 1; fi
    for set in "${SETS[@]}"; do
      mkdir -p "$RUNS/$set"
      [ -d "$KEEP/tables-$set" ] && node --import tsx scripts/merge-table-runs.ts "$RUNS/$set" "$KEEP/tables-$set"
    done
    export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS OMP_WAIT_POLICY=passive
    export RUNS
    # its own session, so its own scheduling group, set to 19 from inside (from here it would race setsid)
    setsid nohup nice -n 19 bash -c "echo 19 >/proc/self/autogroup 2>/dev/null; $(declare -p JOBS DATA); $(declare -f queue); queue" >>"$RUNS/queue.log" 2>&1 </dev/null &
    echo $! >"$RUNS/queue.pid"
    echo "queue started (process $!), log $RUNS/queue.log"
    ;;
  status)
    tail -c 4000 "$RUNS/queue.log" | tr '\r' '\n' | grep -a . | tail -3
    ;;
  keep)
    if [ -f "$RUNS/queue.pid" ]; then kill -- "-$(cat "$RUNS/queue.pid")" 2>/dev/null || true; sleep 3; rm -f "$RUNS/queue.pid"; fi
    for set in "${SETS[@]}"; do
      [ -f "$RUNS/$set/rows.json" ] || [ -n "$(ls "$RUNS/$set/rows" 2>/dev/null)" ] || continue
      rm -f "$RUNS/$set/run.lock"
      node --import tsx scripts/merge-table-runs.ts "$KEEP/tables-$set" "$RUNS/$set"
      find "$KEEP/tables-$set/rows" -name '*.safetensors' -size +20M -print -delete | sed 's/^/not kept (over 20 MB; the row restarts): /'
      rm -f "$KEEP/tables-$set/run.lock"
    done
    ;;
  *) echo "usage: bash scripts/tables-cpu.sh start|status|keep" >&2; exit 2 ;;
esac
