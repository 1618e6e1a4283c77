#!/usr/bin/env bash
# The node dies mid-follow and comes back (anvil state dumped and reloaded): cantord keeps running,
# logs, waits, resumes, and loses nothing. Also a hung node (SIGSTOP) must not wedge cantord.
. "$(dirname "$0")/lib.sh"

state="$TMP/anvil-state.json"
start_chain --blocks 60 --state-file "$state" --hold --max-seconds 900
port=${CHAIN_URL##*:}
start_cantord
wait_chain_done 300
wait_synced 120
before=$(cantord_head)
log "synced at $before; stopping the node"
stop_chain
sleep 3
kill -0 "$CANTORD_PID" || fail "cantord died when the node went away"
curl -sf "$API/healthz" -o /dev/null || fail "cantord stopped answering while the node was down"
grep -q 'warn follower' "$TMP/cantord.log" || fail "cantord did not log the node failure"
log "node down for 3 s, cantord alive; restarting the node on the same port with its state"
(cd "$CHAIN" && exec node devchain.mjs --port "$port" --blocks 40 --state-file "$state" --hold \
    --max-seconds 900) >>"$TMP/chain2.log" 2>&1 &
CHAIN_PID=$!
wait_for 120 "node restart" grep -q '"event":"done"' "$TMP/chain2.log"
wait_synced 120
# A hung node: requests time out, cantord stays responsive, then catches up.
kill -STOP "$CHAIN_PID" 2>/dev/null || true
pkill -STOP -P "$CHAIN_PID" 2>/dev/null || true
sleep 2
curl -sf --max-time 2 "$API/healthz" -o /dev/null || fail "cantord unresponsive while the node hangs"
pkill -CONT -P "$CHAIN_PID" 2>/dev/null || true
kill -CONT "$CHAIN_PID" 2>/dev/null || true
wait_synced 120
head=$(chain_head)
[ "$head" -gt "$before" ] || fail "no new blocks after the restart"
compare 0 "$head"
stop_cantord
echo "node-failure: ok"
