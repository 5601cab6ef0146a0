#!/usr/bin/env bash
# The paper's Tables 1 and 2 at 3000 steps a row on this machine's CPU, carried across sessions:
# the finished rows, their held-out curves and the small training states live in data/tables-*,
# a session trains on in $RUNS and puts what it got back before it stops.
#
#   bash scripts/tables-cpu.sh start    copy data/tables-* into $RUNS and start the queue below in the
#                                       background (nice 19, its own scheduling group at 19, so work
#                                       in the foreground keeps the CPU); log: $RUNS/queue.log
#   bash scripts/tables-cpu.sh side SET TABLE ENCODER ROWS
#                                       one job beside the queue, in $RUNS/side/SET (its own folder: a run
#                                       folder takes one training at a time), THREADS_SIDE threads (1);
#                                       with the queue at THREADS=1, two 1-thread jobs do ~18% more work
#                                       on 2 cores than one 2-thread job (5 Dec). keep merges it back too.
#   QUEUE="patches table2 small resup;fashion table1 small" bash scripts/tables-cpu.sh start
#                                       the same with another list of jobs (';' between them)
#   FLAGS="--loss mse" bash scripts/tables-cpu.sh side fashion table2 small mlpxy
#                                       extra flags of stratum experiment for the jobs started (rows
#                                       trained so are cached apart: MLP-xy on MSE, docs/results.md)
#   bash scripts/tables-cpu.sh status   the queue's last progress line (and the side job's)
#   bash scripts/tables-cpu.sh keep     stop the queue and merge $RUNS back into data/tables-*
#                                       (scripts/merge-table-runs.ts); a state over 20 MB (the
#                                       ResNet decoder's, ResNet-18's) is kept compact: weights in
#                                       bf16, no Adam moments (scripts/compact-row-states.ts; its row
#                                       resumes with Adam restarted, marked † in the table); one
#                                       still over 25 MB is not kept: its row restarts
#
# The queue: one training at a time (two at once on 2 cores each run at less than half speed), each
# experiment skipping the rows already finished. Recipe: small encoder unless named, canvas detached
# (--stop-canvas-grad), Adam 1e-3 constant, batch 32, 256 held-out images. THREADS (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-/work/runs-tables}
KEEP=${KEEP:-data}                                  # where the tables-* folders are kept
THREADS=${THREADS:-2}
THREADS_SIDE=${THREADS_SIDE:-1}
export FLAGS=${FLAGS:-}
SETS=(patches fashion)
declare -A DATA=([patches]=patches:/usr/share/backgrounds:96 [fashion]=fashion-mnist)
# data-set table encoder [rows]
JOBS=(
  "patches table1 small"
  "patches table2 small"
  "fashion table1 small"
  "fashion table2 small"
  "patches table1 resnet18 T=10:K=10,T=20:K=10"
  "fashion table1 resnet18 T=10:K=10,T=20:K=10"
  "patches table2 resnet18 mlp |z|=130,convt |z|=130,resup |z|=130,mlpxy |z|=130"
  "fashion table2 resnet18 convt |z|=130,mlp |z|=130"
)
# QUEUE="set table encoder [rows];..." replaces that list, e.g. to leave out a row a side job trains
[ -n "${QUEUE:-}" ] && IFS=';' read -ra JOBS <<<"$QUEUE"

# one job: set table encoder [rows], into folder $1
job() {
  local out=$1 set table encoder rows
  read -r set table encoder rows <<<"$2"
  echo "== $(date -u +%FT%TZ) $2"
  node bin/stratum.js experiment "$table" --data "${DATA[$set]}" --steps 3000 --batch 32 --holdout 256 \
    --encoder "$encoder" --stop-canvas-grad ${rows:+--rows "$rows"} ${FLAGS:-} -o "$out/$set" </dev/null || echo "== failed: $2"
}
queue() {
  for j in "${JOBS[@]}"; do job "$RUNS" "$j"; done
  echo "== $(date -u +%FT%TZ) queue done"
}
# in the background: its own session, so its own scheduling group, set to 19 from inside (from
# here it would race setsid); $1: pid file, $2: log, $3: the command
background() {
  setsid nohup nice -n 19 bash -c "echo 19 >/proc/self/autogroup 2>/dev/null; $(declare -p JOBS DATA); $(declare -f job queue); $3" >>"$2" 2>&1 </dev/null &
  echo $! >"$1"
}
running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

case "${1:-}" in
  start)
    if running "$RUNS/queue.pid"; then echo "$RUNS: the queue is running (process $(cat "$RUNS/queue.pid"))" >&2; exit 1; fi
    for set in "${SETS[@]}"; do
      mkdir -p "$RUNS/$set"
      [ -d "$KEEP/tables-$set" ] && node --import tsx scripts/merge-table-runs.ts "$RUNS/$set" "$KEEP/tables-$set"
    done
    export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS OMP_WAIT_POLICY=passive
    export RUNS
    background "$RUNS/queue.pid" "$RUNS/queue.log" queue
    echo "queue started (process $(cat "$RUNS/queue.pid")), log $RUNS/queue.log"
    ;;
  side)
    [ $# -ge 4 ] || { echo "usage: bash scripts/tables-cpu.sh side SET TABLE ENCODER [ROWS]" >&2; exit 2; }
    [ -n "${DATA[$2]:-}" ] || { echo "side: no data set '$2' (${SETS[*]})" >&2; exit 2; }
    if running "$RUNS/side.pid"; then echo "$RUNS: a side job is running (process $(cat "$RUNS/side.pid"))" >&2; exit 1; fi
    mkdir -p "$RUNS/side/$2"
    node --import tsx scripts/merge-table-runs.ts "$RUNS/side/$2" "$RUNS/$2"
    export OMP_NUM_THREADS=$THREADS_SIDE OPENBLAS_NUM_THREADS=$THREADS_SIDE OMP_WAIT_POLICY=passive RUNS
    background "$RUNS/side.pid" "$RUNS/side.log" "job $RUNS/side $(printf %q "$2 $3 $4 ${5:-}")"
    echo "side job started (process $(cat "$RUNS/side.pid")), log $RUNS/side.log"
    ;;
  status)
    tail -c 4000 "$RUNS/queue.log" | tr '\r' '\n' | grep -a . | tail -3
    [ -f "$RUNS/side.log" ] && running "$RUNS/side.pid" && { echo "side:"; tail -c 4000 "$RUNS/side.log" | tr '\r' '\n' | grep -a . | tail -2; }
    true
    ;;
  keep)
    for pid in "$RUNS/queue.pid" "$RUNS/side.pid"; do
      if [ -f "$pid" ]; then kill -- "-$(cat "$pid")" 2>/dev/null || true; sleep 3; rm -f "$pid"; fi
    done
    for set in "${SETS[@]}"; do
      [ -f "$RUNS/$set/rows.json" ] || [ -n "$(ls "$RUNS/$set/rows" 2>/dev/null)" ] || continue
      rm -f "$RUNS/$set/run.lock" "$RUNS/side/$set/run.lock"
      node --import tsx scripts/merge-table-runs.ts "$KEEP/tables-$set" "$RUNS/$set"
      [ -d "$RUNS/side/$set" ] && node --import tsx scripts/merge-table-runs.ts "$KEEP/tables-$set" "$RUNS/side/$set"
      node --import tsx scripts/compact-row-states.ts "$KEEP/tables-$set/rows" 20 25
      rm -f "$KEEP/tables-$set/run.lock"
    done
    ;;
  *) echo "usage: bash scripts/tables-cpu.sh start|status|keep" >&2; exit 2 ;;
esac
