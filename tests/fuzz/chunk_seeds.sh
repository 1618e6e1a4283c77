#!/bin/sh
# tests/fuzz/chunk_seeds.sh CANTOR SHARED_DATA OUTDIR - seed corpus for fuzz_chunk, made at run time
# from the shared recorded blocks (never stored in the repo). fuzz_chunk decodes with the untrained
# model, so the seeds are chunks of that model: `cantor compress` without --train, one per recorded
# block (the adaptive choice gives cm and raw chunks; zstd-dict needs a trained model), plus each
# chunk cut after its header so the fuzzer starts from valid headers with short payloads too, plus one
# chunk of the three consecutive blocks 17,073,191-193 (`cantor compress IN... OUT`).
# Usage: sh tests/fuzz/chunk_seeds.sh build-clang/daemon/cantor ../shared/data /tmp/chunk-seeds &&
#        build-fuzz/tests/fuzz/fuzz_chunk -max_total_time=120 /tmp/chunk-corpus /tmp/chunk-seeds
set -eu
CANTOR=$1
DATA=$2
OUT=$3
mkdir -p "$OUT"
n=0
for f in "$DATA"/erigon-rpc-tests/mainnet/trace_replayBlockTransactions/*.json \
    "$DATA"/erigon-rpc-tests/mainnet/debug_traceBlockByNumber/*.json; do
    b=$(basename "$(dirname "$f")")_$(basename "$f" .json)
    if "$CANTOR" compress "$f" "$OUT/$b.chunk" 2>/dev/null; then
        head -c 40 "$OUT/$b.chunk" >"$OUT/$b.head"
        n=$((n + 1))
    fi
done
# one chunk of the three consecutive blocks (the multi-block warm path), whole and cut after its header
G=$DATA/erigon-rpc-tests/mainnet/debug_traceBlockByNumber
if "$CANTOR" compress "$G/test_32.json" "$G/test_33.json" "$G/test_34.json" "$OUT/multi.chunk" 2>/dev/null; then
    head -c 60 "$OUT/multi.chunk" >"$OUT/multi.head"
    n=$((n + 1))
fi
echo "chunk_seeds: $n chunks in $OUT"
