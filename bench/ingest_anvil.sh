#!/usr/bin/env bash
# bench/ingest_anvil.sh BUILD_DIR [BLOCKS] - ingest throughput of the real follower + RocksDB store on
# the anvil dev chain (tests/chain): the chain is built first (BLOCKS traffic blocks, default 300),
# then cantord catches up from genesis and we time it from process start to "synced" (so start-up and
# the 0.2 s sync polling are included: a pessimistic figure; the follower's own moving average is
# printed beside it). Prints one JSON line with blocks/s, state
# changes/s, store bytes per block and, as the baseline in the same run, the node's own cost of
# serving the same blocks (trace_replayBlockTransactions for every block, timed by curl).
. "$(dirname "$0")/../tests/integration/lib.sh"
blocks=${2:-300}

start_chain --blocks "$blocks" --hold --max-seconds 1800
wait_chain_done 600
head=$(chain_head)
t0=$(date +%s.%N)
start_cantord --set batch_size=32
wait_synced 600
t1=$(date +%s.%N)
metrics=$(curl -sf "$API/metrics")
stop_cantord
store_bytes=$(du -sb "$TMP/data/db" | cut -f1)
# Baseline: the node alone serving the same diffs, one request per block.
b0=$(date +%s.%N)
for ((n = 0; n <= head; n++)); do
    curl -sf -X POST -H 'Content-Type: application/json' "$CHAIN_URL" -o /dev/null \
        --data "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"trace_replayBlockTransactions\",\"params\":[\"$(printf '0x%x' "$n")\",[\"stateDiff\"]]}"
done
b1=$(date +%s.%N)
python3 - "$head" "$t0" "$t1" "$b0" "$b1" "$store_bytes" "$metrics" <<'PY'
import json, re, sys
head, t0, t1, b0, b1, store_bytes, metrics = sys.argv[1:]
head, dt, bt = int(head), float(sys.argv[3]) - float(t0), float(b1) - float(b0)
def metric(name):
    m = re.search(r"^" + name + r"(?:\{[^}]*\})? ([0-9.e+]+)$", metrics, re.M)
    return float(m.group(1)) if m else None
entries = metric("cantor_store_entries")  # history entries = state changes ingested
ema = metric("cantor_blocks_per_second")
store_metric = metric("cantor_store_bytes")
print(json.dumps({"bench": "ingest_anvil", "blocks": head + 1, "seconds": round(dt, 2),
                  "follower_blocks_per_s_ema": ema, "store_bytes_rocksdb_estimate": store_metric,
                  "blocks_per_s": round((head + 1) / dt, 1),
                  "state_changes_per_s": round(entries / dt, 1) if entries else None,
                  "store_bytes": int(store_bytes), "store_bytes_per_block": round(int(store_bytes) / (head + 1)),
                  "baseline_node_trace_seconds": round(bt, 2),
                  "baseline_node_blocks_per_s": round((head + 1) / bt, 1)}))
PY
