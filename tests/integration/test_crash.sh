#!/usr/bin/env bash
# kill -9 cantord again and again while it ingests, restart it each time; the store must always
# reopen at a block boundary and, at the end, every value of every block must match anvil.
. "$(dirname "$0")/lib.sh"

start_chain --blocks 200 --hold --max-seconds 900
wait_chain_done 300
rounds=8
for ((r = 1; r <= rounds; r++)); do
    start_cantord
    sleep "0.$((RANDOM % 9 + 1))"
    h=$(cantord_head 2>/dev/null || echo "?")
    kill -KILL "$CANTORD_PID"
    wait "$CANTORD_PID" 2>/dev/null || true
    CANTORD_PID=""
    log "round $r: killed cantord -9 at head $h"
done
start_cantord
wait_synced 180
head=$(chain_head)
compare 0 "$head"
stop_cantord
echo "crash: ok ($rounds kill -9 rounds)"
