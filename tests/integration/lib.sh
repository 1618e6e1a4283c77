# lib.sh - shared helpers for cantord's integration tests: a real anvil chain (tests/chain) and a
# real cantord on 127.0.0.1, random free ports, a private temp dir, everything torn down on exit.
# Sourced by the test_*.sh scripts; they get the build dir as $1 (meson passes it).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${1:?usage: $0 BUILD_DIR}
BUILD=$(cd "$BUILD" && pwd)
CANTORD=$BUILD/daemon/cantord
CHAIN=$ROOT/tests/chain
TMP=$(mktemp -d "${TMPDIR:-/tmp}/cantord-it.XXXXXX")
CHAIN_PID=""
CANTORD_PID=""

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
fail() {
    log "FAIL: $*"
    for f in "$TMP"/*.log; do [ -f "$f" ] && { echo "--- tail $f" >&2; tail -n 25 "$f" >&2; }; done
    exit 1
}

cleanup() {
    local rc=$?
    [ -n "$CANTORD_PID" ] && kill -TERM "$CANTORD_PID" 2>/dev/null && wait "$CANTORD_PID" 2>/dev/null
    [ -n "$CHAIN_PID" ] && kill -TERM "$CHAIN_PID" 2>/dev/null && wait "$CHAIN_PID" 2>/dev/null
    rm -rf "$TMP"
    exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM

[ -x "$CANTORD" ] || fail "no cantord at $CANTORD"
if [ ! -d "$CHAIN/node_modules" ]; then
    echo "skip: tests/chain/node_modules missing (run scripts/bootstrap)" >&2
    exit 77
fi

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_chain ARGS... : start devchain.mjs on a free port; sets CHAIN_URL, waits for "ready".
start_chain() {
    local port
    port=$(free_port)
    (cd "$CHAIN" && exec node devchain.mjs --port "$port" "$@") >>"$TMP/chain.log" 2>&1 &
    CHAIN_PID=$!
    CHAIN_URL="http://127.0.0.1:$port"
    wait_for 120 "dev chain ready" grep -q '"event":"ready"' "$TMP/chain.log"
}

stop_chain() {
    [ -n "$CHAIN_PID" ] || return 0
    kill -TERM "$CHAIN_PID" 2>/dev/null || true
    wait "$CHAIN_PID" 2>/dev/null || true
    CHAIN_PID=""
}

# wait_for SECONDS WHAT CMD... : poll CMD every 0.2 s until it succeeds (bounded).
wait_for() {
    local secs=$1 what=$2 i
    shift 2
    for ((i = 0; i < secs * 5; i++)); do
        "$@" 2>/dev/null && return 0
        sleep 0.2
    done
    fail "timed out after ${secs}s waiting for $what"
}

# chunk_blocks FILE : print "FIRST LAST", the blocks a v2 chunk's header names (docs/formats.md:
# magic, version, codec, flags, 8-byte model prefix, then varints first block and span).
chunk_blocks() {
    python3 - "$1" <<'PY'
import sys
b = open(sys.argv[1], "rb").read()
assert b[:4] == b"CNTC" and b[4] == 2, "not a v2 chunk"
pos = 15
def varint():
    global pos
    v = s = 0
    while True:
        x = b[pos]; pos += 1; v |= (x & 0x7f) << s; s += 7
        if not x & 0x80: return v
first = varint(); span = varint()
print(first, first + span)
PY
}

# model_not_own FILE : fail unless the model the chunk FILE names (GET /v1/models/0x<prefix>, cached in
# $TMP/models) was trained on none of the chunk's blocks: a chunk coded with a model that saw its own
# blocks could only be decoded by someone who already has them (the bundle carries them).
model_not_own() {
    local prefix first last
    prefix=$(od -An -tx1 -j7 -N8 "$1" | tr -d ' \n')
    [ "$prefix" = 0000000000000000 ] && return 0 # raw: no model
    read -r first last < <(chunk_blocks "$1") || fail "$1: bad chunk header"
    mkdir -p "$TMP/models"
    [ -s "$TMP/models/$prefix" ] || curl -sf "$API/v1/models/0x$prefix" -o "$TMP/models/$prefix" ||
        fail "GET /v1/models/0x$prefix (named by $1)"
    python3 - "$first" "$last" "$TMP/models/$prefix" <<'PY' || fail "$1: its model was trained on one of its blocks"
import struct, sys
first, last = int(sys.argv[1]), int(sys.argv[2])
b = open(sys.argv[3], "rb").read()
assert b[:4] == b"CMB1", "not a model bundle"
n, = struct.unpack(">I", b[4:8])
off = 8
for _ in range(n):
    blk, ln = struct.unpack(">QI", b[off:off + 12])
    if first <= blk <= last:
        sys.exit(f"chunk of blocks {first}..{last}: its model was trained on block {blk}")
    off += 12 + ln
PY
}

wait_chain_done() { wait_for "${1:-300}" "dev chain traffic to finish" grep -q '"event":"done"' "$TMP/chain.log"; }

# start_cantord ARGS... : cantord following CHAIN_URL; sets API (http://127.0.0.1:port).
start_cantord() {
    local port
    port=${HTTP_PORT:-$(free_port)}
    HTTP_PORT=$port
    API="http://127.0.0.1:$port"
    "$CANTORD" --eth-rpc "$CHAIN_URL" --data-dir "$TMP/data" --listen "127.0.0.1:$port" \
        --start-block genesis --confirmations 0 --set poll_interval=200ms --set rpc_max_retries=2 \
        --set rpc_backoff_initial=50ms --set rpc_backoff_max=1s --set store_sync=false "$@" \
        >>"$TMP/cantord.log" 2>&1 &
    CANTORD_PID=$!
    wait_for 60 "cantord HTTP" curl -sf "$API/healthz" -o /dev/null
}

stop_cantord() {
    [ -n "$CANTORD_PID" ] || return 0
    kill -TERM "$CANTORD_PID" 2>/dev/null || true
    wait "$CANTORD_PID" || fail "cantord exited with status $? on SIGTERM"
    CANTORD_PID=""
}

# rpc URL METHOD PARAMS-JSON : print the JSON-RPC result (raw JSON).
rpc() {
    curl -sf -X POST -H 'Content-Type: application/json' \
        --data "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$2\",\"params\":$3}" "$1" |
        python3 -c 'import json,sys; r=json.load(sys.stdin); print(json.dumps(r["result"]) if "result" in r else sys.exit(1))'
}

hexnum() { python3 -c "import sys; print(int(sys.argv[1].strip('\"'), 16))" "$1"; }

chain_head() { hexnum "$(rpc "$CHAIN_URL" eth_blockNumber '[]')"; }
cantord_head() { hexnum "$(rpc "$API/rpc" eth_blockNumber '[]')"; }

# Synced when cantord's head equals the chain's head and both agree on that block's hash.
synced() {
    local h c
    h=$(chain_head) || return 1
    c=$(cantord_head) || return 1
    [ "$h" = "$c" ] || return 1
    [ "$(chain_hash "$h")" = "$(cantord_block_hash "$h")" ]
}
chain_hash() {
    rpc "$CHAIN_URL" eth_getBlockByNumber "[\"$(printf '0x%x' "$1")\",false]" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["hash"])'
}
cantord_block_hash() {
    curl -sf "$API/v1/blocks/$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["hash"])'
}
wait_synced() { wait_for "${1:-180}" "cantord to reach the chain head" synced; }

# compare FROM TO : every touched key of every block, anvil vs cantord, 100% match required.
compare() {
    (cd "$CHAIN" && node compare.mjs --anvil "$CHAIN_URL" --cantord "$API/rpc" --from "$1" --to "$2" \
        --source trace) >"$TMP/compare.json" 2>>"$TMP/compare.log" || {
        cat "$TMP/compare.json" >&2
        fail "compare.mjs reported mismatches or errors"
    }
    python3 - "$TMP/compare.json" <<'PY'
import json, sys
r = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
print(f"compare: {r['checked']} values checked over {r['blocks']} blocks, {r['mismatches']} mismatches "
      f"({r.get('accounts', '?')} accounts, {r.get('slots', '?')} slots)")
sys.exit(0 if r["mismatches"] == 0 and r["checked"] > 0 else 1)
PY
}

# reorg_now DEPTH : a reorg the test controls (the dev chain's own reorgs can be too quick for a
# follower to see the orphaned blocks). Mines DEPTH blocks of ETH transfers, waits until cantord
# has them, reverts them and mines DEPTH+1 different blocks. Needs the traffic to be finished.
reorg_now() {
    local depth=$1 snap from i to
    from=$(rpc "$CHAIN_URL" eth_accounts '[]' | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1])')
    snap=$(rpc "$CHAIN_URL" evm_snapshot '[]')
    for ((i = 0; i < depth; i++)); do
        to=$(printf '0x%040x' $((0xdead0000 + RANDOM)))
        rpc "$CHAIN_URL" eth_sendTransaction "[{\"from\":\"$from\",\"to\":\"$to\",\"value\":\"0x1000\"}]" >/dev/null
        rpc "$CHAIN_URL" evm_mine '[]' >/dev/null
    done
    wait_synced 60
    rpc "$CHAIN_URL" evm_revert "[$snap]" >/dev/null
    for ((i = 0; i <= depth; i++)); do
        to=$(printf '0x%040x' $((0xbeef0000 + RANDOM)))
        rpc "$CHAIN_URL" eth_sendTransaction "[{\"from\":\"$from\",\"to\":\"$to\",\"value\":\"0x2000\"}]" >/dev/null
        rpc "$CHAIN_URL" evm_mine '[]' >/dev/null
    done
    wait_synced 60
}

cantord_reorgs() {
    curl -sf "$API/v1/status" | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s.get("follower", s).get("reorgs", 0))'
}
