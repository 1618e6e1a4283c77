#!/usr/bin/env bash
# bench/codec_anvil.sh BUILD_DIR [BLOCKS] [TRAIN] [SEED] [-- BENCH_ARGS...] - the warm codec benchmark on
# an anvil chain of mixed traffic (tests/chain/devchain.mjs: ERC-20s, WETH, Uniswap V2, KV stores),
# trained the way cantord trains: `cantor bench-codec --train` the chain's first TRAIN blocks (150),
# `--eval` the BLOCKS - TRAIN after them (BLOCKS 700), `--warm` with the state before each chunk, once
# per blocks-per-chunk value in $BPC (default "1 16"; 1 is the daemon's one chunk per block). Each
# block's trace_replayBlockTransactions stateDiff is fetched from anvil and saved as a recording like
# ../shared/data's. Prints one summary line per run; exits non-zero on a failed round trip.
# Everything on 127.0.0.1, in a temp dir that is removed (tests/integration/lib.sh).
. "$(dirname "$0")/../tests/integration/lib.sh"
BUILD=$1
BLOCKS=${2:-700}
TRAIN=${3:-150}
SEED=${4:-1}
shift $(($# < 4 ? $# : 4))
[ "${1:-}" = "--" ] && shift
[ "$TRAIN" -lt "$BLOCKS" ] || fail "TRAIN must be below BLOCKS"

start_chain --blocks $((BLOCKS - 10)) --seed "$SEED" --hold --max-seconds 1800
wait_chain_done 900
head=$(chain_head)
[ "$head" -ge "$BLOCKS" ] || fail "chain head $head below $BLOCKS"
mkdir -p "$TMP/train" "$TMP/eval"
for ((n = 1; n <= BLOCKS; n++)); do
    req="{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"trace_replayBlockTransactions\",\"params\":[\"$(printf 0x%x "$n")\",[\"stateDiff\"]]}"
    dir=eval
    [ "$n" -le "$TRAIN" ] && dir=train
    resp=$(curl -sf -H 'content-type: application/json' --data "$req" "$CHAIN_URL") || fail "trace of block $n"
    printf '[{"request":%s,"response":%s}]\n' "$req" "$resp" >"$TMP/$dir/$(printf 'block_%05d.json' "$n")"
done
stop_chain
for b in ${BPC:-1 16}; do
    "$BUILD/daemon/cantor" bench-codec --train "$TMP/train" --eval "$TMP/eval" --warm \
        --blocks-per-chunk "$b" "$@" >"$TMP/out" || fail "bench-codec --blocks-per-chunk $b: round trip"
    tail -1 "$TMP/out"
done
