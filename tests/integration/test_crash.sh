#!/usr/bin/env bash
# kill -9 cantord again and again while it ingests, restart it each time; the store must always
# reopen at a block boundary and, at the end, every value of every block must match anvil.
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
start_cantord
wait_synced 180
compare 0 "$target"
stop_cantord
echo "crash: ok ($mid kill -9 rounds mid-ingest, store reopened every time)"
