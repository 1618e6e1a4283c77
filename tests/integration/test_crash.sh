#!/usr/bin/env bash
# kill -9 cantord again and again while it ingests, restart it each time; the store must always
# reopen at a block boundary and, at the end, every value of every block must match anvil. Then the
# same while the trainer trains, re-encodes and packs final blocks 4 to a chunk (pack depth 2): every
# stored chunk must then decode to exactly its blocks' deltas, and the stats count them.
. "$(dirname "$0")/lib.sh"

start_chain --blocks 200 --hold --max-seconds 900
wait_chain_done 300
target=$(chain_head)
mid=0
caught_up=0
HTTP_PORT=$(free_port)
# Kill at a random moment after exec (not after the HTTP server is up: ingest starts before it and is
# fast), with fsync on and one block per fetch so kills land inside block writes.
for ((r = 1; r <= 80 && !caught_up; r++)); do
    "$CANTORD" --eth-rpc "$CHAIN_URL" --data-dir "$TMP/data" --listen "127.0.0.1:$HTTP_PORT" \
        --start-block genesis --confirmations 0 --set batch_size=1 --set store_sync=true \
        --log-level debug >"$TMP/round.log" 2>&1 &
    pid=$!
    sleep "0.$((RANDOM % 5))$((RANDOM % 10))"
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    last=$(grep -o 'applied block [0-9]*' "$TMP/round.log" | tail -n 1 | grep -o '[0-9]*$' || true)
    cat "$TMP/round.log" >>"$TMP/cantord.log"
    if [ -z "$last" ]; then
        log "round $r: kill -9 before any block was applied"
    elif [ "$last" -lt "$target" ]; then
        mid=$((mid + 1))
        log "round $r: kill -9 mid-ingest after block $last of $target"
    else
        caught_up=1
        log "round $r: kill -9 after catching up"
    fi
done
[ "$mid" -ge 5 ] || fail "only $mid kills landed mid-ingest"

PACK=(--set compress_train_blocks=16 --set compress_blocks_per_chunk=4 --set compress_pack_depth=2)
for ((r = 1; r <= 20; r++)); do
    "$CANTORD" --eth-rpc "$CHAIN_URL" --data-dir "$TMP/data" --listen "127.0.0.1:$HTTP_PORT" \
        --start-block genesis --confirmations 0 --set store_sync=true "${PACK[@]}" >>"$TMP/cantord.log" 2>&1 &
    pid=$!
    sleep "$((1 + RANDOM % 4)).$((RANDOM % 10))"
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
done
log "20 kill -9 rounds while training, compaction and packing ran ($(grep -c "compress: packed" "$TMP/cantord.log") packing steps logged)"
start_cantord "${PACK[@]}"
wait_synced 180
packed() { curl -sf "$API/v1/compression/stats" | jq -e --argjson h "$target" '.packing.next >= $h - 5' >/dev/null; }
wait_for 300 "packing to finish" packed
python3 - "$API" "$target" <<'PY' || fail "stored chunks after the kills do not decode to their blocks"
import json, sys, urllib.request
api, last = sys.argv[1], int(sys.argv[2])
def get(path, body=None):
    with urllib.request.urlopen(urllib.request.Request(api + path, data=body), timeout=60) as r:
        return r.read()
n = chunks = packed = 0
while n <= last:
    chunk = get(f"/v1/chunks/{n}")
    doc = json.loads(get("/v1/decompress?format=json", chunk))
    blocks = doc["blocks"] if "blocks" in doc else [doc]
    assert blocks[0]["number"] == n, f"chunk of block {n} starts at {blocks[0]['number']}"
    for b in blocks:
        want = json.loads(get(f"/v1/blocks/{b['number']}/delta"))
        assert b["entries"] == want["entries"], f"block {b['number']}: entries differ from /delta"
    chunks += 1
    packed += len(blocks) > 1
    n = blocks[-1]["number"] + 1
stats = json.loads(get("/v1/compression/stats"))
assert stats["chunks"] == chunks and stats["blocks"] == last + 1, f"stats {stats['chunks']} chunks of {stats['blocks']} blocks, walked {chunks}"
assert packed > 0, "nothing packed"
print(f"stored chunks: {chunks} for {last + 1} blocks, {packed} packed, all equal to /delta")
PY
compare 0 "$target"
stop_cantord
echo "crash: ok ($mid kill -9 rounds mid-ingest, store reopened every time)"
