#!/usr/bin/env bash
# load.sh - HTTP read load on a real cantord while it keeps following a live anvil chain.
#
#   bench/load.sh BUILD_DIR [SECONDS_PER_RUN=20] [CONNECTIONS=64]
#
# 1. anvil dev chain (tests/chain/devchain.mjs --forever --interval 1: a block every second after
#    the setup + traffic blocks), cantord following it from genesis.
# 2. bench_http (C, libcurl, keep-alive): GET /v1/state/{addr}?block=<random> and eth_getStorageAt at
#    random followed blocks, N connections, bounded by SECONDS.
# 3. The same eth_getStorageAt load with wrk (Debian) against cantord /rpc and against anvil itself:
#    the baseline, measured in the same run on the same machine.
# Prints req/s, p50 and p99 of each, the heads before/after (ingest kept going) and cantord's RSS.
# Everything binds 127.0.0.1 and is torn down on exit (lib.sh).
. "$(dirname "$0")/../tests/integration/lib.sh"
SECS=${2:-20}
CONNS=${3:-64}
[[ $SECS =~ ^[0-9]+$ ]] && ((SECS >= 1 && SECS <= 300)) || fail "seconds must be 1..300"
[[ $CONNS =~ ^[0-9]+$ ]] && ((CONNS >= 1 && CONNS <= 256)) || fail "connections must be 1..256"
BENCH=$BUILD/bench/bench_http
[ -x "$BENCH" ] || fail "no $BENCH"

BLOCKS=${LOAD_BLOCKS:-200}
start_chain --blocks "$BLOCKS" --forever --interval 1 --max-seconds 1800
start_cantord ${CANTORD_ARGS:-}
# --forever never says "done": the fast traffic phase is over once ~10 setup + BLOCKS blocks exist.
fast_done() { (($(chain_head) >= BLOCKS + 10)); }
wait_for 600 "chain traffic phase" fast_done
wait_synced 300
rss() { awk '/VmRSS/ {print $2}' "/proc/$CANTORD_PID/status"; }
head0=$(cantord_head)
log "cantord in sync at $head0 (chain keeps mining 1 block/s); RSS $(rss) kB; $CONNS connections, ${SECS}s per run"

echo "== bench_http (cantord, REST + JSON-RPC mixed) =="
"$BENCH" -c "$CONNS" -d "$SECS" -n 10000000 "$API" | tee "$TMP/bench_http.out"
bench_rc=${PIPESTATUS[0]}
head1=$(cantord_head)

# wrk script: eth_getStorageAt of (address, slot) pairs that changed in blocks 11..20 (setup and the
# first traffic), at random blocks 20..head0, so every answer is a real stored value (cantord answers
# "value unknown" before a key's first change, which would be a cheaper error path).
for b in $(seq 11 20); do curl -sf "$API/v1/blocks/$b/delta"; done |
    jq -rs '[.[].entries[] | select(.kind == "storage") | "{\"\(.address)\",\"\(.slot)\"}"] | unique | join(",")' \
    >"$TMP/keys.txt"
[ -s "$TMP/keys.txt" ] || fail "no storage keys in blocks 11..20"
cat >"$TMP/getstorage.lua" <<EOF
local keys = {$(cat "$TMP/keys.txt")}
local lo, hi = 20, $head0
local threads = {}
setup = function(thread) table.insert(threads, thread) end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
n, bad = 0, 0
request = function()
    n = n + 1
    local k = keys[math.random(#keys)]
    local body = string.format('{"jsonrpc":"2.0","id":%d,"method":"eth_getStorageAt","params":["%s","%s","0x%x"]}',
        n, k[1], k[2], math.random(lo, hi))
    return wrk.format(nil, nil, nil, body)
end
response = function(status, headers, body)
    if status ~= 200 or not string.find(body, '"result"', 1, true) then bad = bad + 1 end
end
done = function(summary, latency, requests)
    local b = 0
    for _, t in ipairs(threads) do b = b + t:get("bad") end
    io.write(string.format("WRK req/s %.0f p50_ms %.3f p99_ms %.3f requests %d socket_errors %d rpc_errors %d\n",
        summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
        latency:percentile(99) / 1000, summary.requests,
        summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status +
        summary.errors.timeout, b))
end
EOF
# The REST twin: GET /v1/state/{address}?block=<random> for the same addresses (200 with the account).
sed -e 's/^wrk.method = "POST"$/wrk.method = "GET"/' \
    -e '/^wrk.headers/d' \
    -e 's|^    local body = string.format.*$|    local path = string.format("/v1/state/%s?block=%d", k[1], math.random(lo, hi))|' \
    -e '/^        n, k\[1\], k\[2\], math.random(lo, hi))$/d' \
    -e 's|^    return wrk.format(nil, nil, nil, body)$|    return wrk.format(nil, path)|' \
    -e "s|string.find(body, '\"result\"', 1, true)|string.find(body, '\"balance\"', 1, true)|" \
    "$TMP/getstorage.lua" >"$TMP/getstate.lua"
wrk_run() {
    local name=$1 url=$2 script=${3:-$TMP/getstorage.lua}
    if ! command -v wrk >/dev/null; then
        echo "$name: wrk not installed (apt-get install wrk), skipped"
        return 0
    fi
    timeout $((SECS + 30)) wrk -t "${WRK_THREADS:-2}" -c "$CONNS" -d "${SECS}s" --timeout 10s -s "$script" "$url" \
        >"$TMP/wrk.out" 2>&1 || true
    printf '%-34s %s\n' "$name" "$(grep '^WRK' "$TMP/wrk.out" || tail -3 "$TMP/wrk.out")"
}
echo "== wrk eth_getStorageAt, $CONNS connections, keys of blocks 11..20 at random blocks 20..$head0 =="
wrk_run "cantord /rpc" "$API/rpc"
wrk_run "cantord GET /v1/state" "$API" "$TMP/getstate.lua"
wrk_run "anvil (baseline)" "$CHAIN_URL"
head2=$(cantord_head)
log "cantord head $head0 -> $head1 -> $head2 during the runs (ingest kept going); RSS $(rss) kB"
((head2 > head0)) || fail "the follower did not ingest during the load"
stop_cantord
exit "$bench_rc"
