#!/usr/bin/env bash
# The command-line surface: `cantor` and `cantord` exit codes, usage errors and real answers on the
# shared mainnet fixtures. Args: BUILD_DIR SHARED_DATA.
set -uo pipefail
BUILD=${1:?BUILD_DIR}
DATA=${2:?SHARED_DATA}
CANTOR=$BUILD/daemon/cantor
CANTORD=$BUILD/daemon/cantord
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
pass=0
fail=0

# expect CODE DESCRIPTION CMD... : run CMD, compare its exit status.
expect() {
    local want=$1 what=$2 got
    shift 2
    "$@" >"$TMP/out" 2>"$TMP/err"
    got=$?
    if [ "$got" = "$want" ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL: $what: exit $got, wanted $want"
        head -5 "$TMP/out" "$TMP/err"
    fi
}
# grep_out PATTERN DESCRIPTION : the last command's stdout+stderr must match.
grep_out() {
    if grep -Eq "$1" "$TMP/out" "$TMP/err"; then pass=$((pass + 1)); else
        fail=$((fail + 1))
        echo "FAIL: $2: output does not match /$1/"
    fi
}

H=$DATA/helios-testdata/rpc
T=$DATA/erigon-rpc-tests/mainnet

expect 0 "cantor --version" "$CANTOR" --version
grep_out '^cantor [0-9]' "version string"
expect 2 "cantor without a command" "$CANTOR"
expect 2 "cantor unknown command" "$CANTOR" frobnicate
grep_out "unknown command" "unknown command message"

expect 0 "mpt-verify against a header" "$CANTOR" mpt-verify "$H/proof.json" --header "$H/block.json"
grep_out '"verified": *true' "verified account printed"
expect 0 "mpt-verify against --root" "$CANTOR" mpt-verify "$H/proof.json" \
    --root 0x7b3d5a01f69b7d2ea7479fd7ae35f4bac2700ab6d6d7b4807a7fedf53ced710e
expect 1 "mpt-verify against a wrong root" "$CANTOR" mpt-verify "$H/proof.json" \
    --root 0x7b3d5a01f69b7d2ea7479fd7ae35f4bac2700ab6d6d7b4807a7fedf53ced710f
sed 's/0x7b3d5a01f69b7d2ea7479fd7ae35f4bac2700ab6d6d7b4807a7fedf53ced710e/0x7b3d5a01f69b7d2ea7479fd7ae35f4bac2700ab6d6d7b4807a7fedf53ced7100/' \
    "$H/block.json" >"$TMP/badblock.json"
expect 1 "mpt-verify against a header whose stateRoot was changed" \
    "$CANTOR" mpt-verify "$H/proof.json" --header "$TMP/badblock.json"
expect 2 "mpt-verify missing file" "$CANTOR" mpt-verify "$TMP/nope.json" --root 0x00
expect 2 "mpt-verify without a root" "$CANTOR" mpt-verify "$H/proof.json"
for f in "$T"/eth_getProof/*.json; do
    root=$("$CANTOR" keccak "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["response"]["result"]["accountProof"][0])' "$f")")
    expect 0 "mpt-verify $(basename "$f")" "$CANTOR" mpt-verify "$f" --root "$root"
done

expect 0 "delta of a parity recording" "$CANTOR" delta "$T/trace_replayBlockTransactions/test_37.json"
grep_out '"entries":566' "delta entry count"
"$CANTOR" delta --no-header "$T/trace_replayBlockTransactions/test_37.json" >"$TMP/parity.jsonl"
"$CANTOR" delta --no-header "$T/debug_traceBlockByNumber/test_32.json" >"$TMP/geth.jsonl"
expect 0 "both diff formats print the same delta" cmp "$TMP/parity.jsonl" "$TMP/geth.jsonl"
echo '{"not": "a recording"}' >"$TMP/bad.json"
expect 2 "delta of a non-recording" "$CANTOR" delta "$TMP/bad.json"

expect 0 "keccak of empty" "$CANTOR" keccak 0x
grep_out 'c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470' "keccak('')"
expect 2 "keccak of odd hex" "$CANTOR" keccak 0xabc

expect 0 "cantord --version" "$CANTORD" --version
expect 0 "cantord --help" "$CANTORD" --help
grep_out 'eth-rpc' "help lists --eth-rpc"
expect 2 "cantord unknown flag" "$CANTORD" --no-such-flag
expect 0 "cantord --check-config" "$CANTORD" --check-config
printf 'confirmations = lots\n' >"$TMP/bad.conf"
expect 1 "cantord --check-config on a bad file" "$CANTORD" --config "$TMP/bad.conf" --check-config
grep_out 'bad.conf:1' "config error names file:line"

# Model bundles: a chunk made with a trained model decodes only with that model's bundle.
D=$DATA/erigon-rpc-tests/mainnet/trace_replayBlockTransactions
expect 0 "compress with a trained model" "$CANTOR" compress --train "$D/test_01.json" --train "$D/test_02.json" \
    "$D/test_05.json" "$TMP/t.chunk"
expect 1 "decompress without the model" "$CANTOR" decompress "$TMP/t.chunk" "$TMP/t.raw"
grep_out 'the chunk names model 0x[0-9a-f]{16}' "unknown model names the chunk's model"
printf 'CMB1\0\0\0\1' >"$TMP/short.bundle"
expect 1 "truncated bundle" "$CANTOR" decompress --model "$TMP/short.bundle" "$TMP/t.chunk" "$TMP/t.raw"
grep_out 'model bundle .*truncated' "truncated bundle message"
expect 1 "missing bundle file" "$CANTOR" decompress --model "$TMP/none.bundle" "$TMP/t.chunk" "$TMP/t.raw"
expect 2 "--model with --train" "$CANTOR" decompress --model "$TMP/short.bundle" --train "$D/test_01.json" \
    "$TMP/t.chunk" "$TMP/t.raw"

# Several consecutive blocks in one self-contained chunk: decoded with the model alone, to the blocks'
# canonical bytes back to back; inputs that are not consecutive are refused.
G=$DATA/erigon-rpc-tests/mainnet/debug_traceBlockByNumber
expect 0 "compress three blocks into one chunk" "$CANTOR" compress "$G/test_32.json" "$G/test_33.json" \
    "$G/test_34.json" "$TMP/m.chunk"
grep_out '\(3 blocks\): 149500 -> [0-9]+ bytes \(cm-warm\)' "multi-block compress summary"
expect 0 "decompress the three-block chunk" "$CANTOR" decompress "$TMP/m.chunk" "$TMP/m.raw"
for b in 32 33 34; do "$CANTOR" compress "$G/test_$b.json" "$TMP/s$b.chunk" 2>/dev/null &&
    "$CANTOR" decompress "$TMP/s$b.chunk" "$TMP/s$b.raw"; done
cat "$TMP/s32.raw" "$TMP/s33.raw" "$TMP/s34.raw" >"$TMP/s.raw"
expect 0 "three-block chunk decodes to the three deltas" cmp "$TMP/s.raw" "$TMP/m.raw"
expect 1 "compress of blocks that are not consecutive" "$CANTOR" compress "$G/test_32.json" "$G/test_34.json" \
    "$TMP/x.chunk"
grep_out 'consecutive blocks' "non-consecutive message"
expect 2 "decompress takes one input" "$CANTOR" decompress "$TMP/m.chunk" "$TMP/s.raw" "$TMP/y.raw"

# The codec benchmark, quick (the full run is bench/codec.sh): trains on recorded blocks, codes others,
# checks every round trip (exit 1 on a failed one) and prints the baselines from the same run.
expect 0 "bench-codec cold" "$CANTOR" bench-codec --train "$D/test_01.json" "$D/test_02.json" \
    --eval "$D/test_05.json" "$D/test_11.json" --quick
grep_out '"summary":true,"regime":"cold".*"zstd19_dict_bytes":[0-9]+,"xz9e_bytes":[0-9]+' "cold summary"
grep_out '"encode_mb_s":[0-9.]+,"decode_mb_s":[0-9.]+' "cold speeds"
if grep -q '"roundtrip":false' "$TMP/out"; then fail=$((fail + 1)); echo "FAIL: a cold round trip"; fi
expect 0 "bench-codec warm" "$CANTOR" bench-codec --train "$D/test_01.json" --eval "$G" --warm --quick
grep_out '"zstd19_long_bytes":[0-9]+,"zstd19_patch_bytes":[0-9]+' "warm baselines"
expect 0 "bench-codec carried" "$CANTOR" bench-codec --train "$D/test_01.json" --eval "$G" --warm \
    --snapshot-interval 2 --quick
expect 0 "bench-codec key window" "$CANTOR" bench-codec --train "$D/test_01.json" --eval "$G" --warm \
    --key-window 1 --quick
grep_out '"key_window":1,' "key window in the summary"
expect 2 "bench-codec --key-window without --warm" "$CANTOR" bench-codec --train "$D/test_01.json" \
    --eval "$G" --key-window 1
expect 2 "bench-codec bad --key-window" "$CANTOR" bench-codec --eval "$G" --warm --key-window -3
expect 0 "bench-codec multi-block chunks" "$CANTOR" bench-codec --train "$D/test_01.json" --eval "$G" --warm \
    --blocks-per-chunk 2
grep_out '"block":[0-9]+,"last_block":[0-9]+,"raw_bytes"' "a chunk line names its block range"
grep_out '"blocks_per_chunk":2,' "blocks per chunk in the summary"
if grep -q '"roundtrip":false' "$TMP/out"; then fail=$((fail + 1)); echo "FAIL: a multi-block round trip"; fi
# A gap in the block numbers ends a chunk early, so any directory of recordings benchmarks.
expect 0 "bench-codec multi-block chunks over a gap" "$CANTOR" bench-codec --train "$D/test_02.json" \
    --eval "$D/test_01.json" "$G/test_32.json" "$G/test_33.json" --warm --blocks-per-chunk 4
grep_out '"block":4417196,"last_block":4417196,' "a block alone before the gap"
grep_out '"block":17073191,"last_block":17073192,' "the consecutive blocks after the gap in one chunk"
grep_out '"blocks_per_chunk":4,"chunks":2,' "two chunks in the summary"
if grep -q '"roundtrip":false' "$TMP/out"; then fail=$((fail + 1)); echo "FAIL: a round trip over a gap"; fi
# A directory's other files are named as skipped, never dropped silently.
mkdir "$TMP/mix" && cp "$D/test_02.json" "$TMP/mix/" && : >"$TMP/mix/test_21.tar"
expect 0 "bench-codec over a directory with a .tar" "$CANTOR" bench-codec --train "$TMP/mix" --eval "$TMP/mix" --quick
grep_out 'skipping .*/mix/test_21.tar: not a .json recording \(rpc-tests' "the .tar is named as skipped"
expect 2 "bench-codec --train of a directory without recordings" "$CANTOR" bench-codec --train "$DATA" \
    --eval "$TMP/mix" --quick
grep_out 'skipping .*: a directory \(not searched' "a subdirectory is named as skipped"
grep_out 'no training blocks in the --train paths' "no training blocks is an error"
expect 2 "compress --train of a directory without recordings" "$CANTOR" compress --train "$TMP/nope" \
    "$D/test_02.json" "$TMP/nope.chunk"
grep_out 'cantor compress: no training blocks in the --train paths' "compress: no training blocks is an error"
# A warm stream is coded in block order whatever order the files are given in.
expect 0 "bench-codec warm eval given out of order" "$CANTOR" bench-codec --train "$D/test_02.json" \
    --eval "$G/test_34.json" "$G/test_32.json" "$G/test_33.json" --warm --blocks-per-chunk 4
grep_out '"block":17073191,"last_block":17073193,' "the three blocks in one chunk, in block order"
grep_out 'taken in block order' "the reordering is said"
expect 2 "bench-codec --blocks-per-chunk without --warm" "$CANTOR" bench-codec --train "$D/test_01.json" \
    --eval "$G" --blocks-per-chunk 2
expect 2 "bench-codec --blocks-per-chunk with carried state" "$CANTOR" bench-codec --eval "$G" --warm \
    --blocks-per-chunk 2 --snapshot-interval 4
expect 2 "bench-codec bad --blocks-per-chunk" "$CANTOR" bench-codec --eval "$G" --warm --blocks-per-chunk 65

# The benchmark of record's script, given the data directory by a relative path as docs/benchmarks.md
# shows it (its train/eval sets are symlinks in a temp dir).
SRC=$(cd "$(dirname "$0")/../.." && pwd)
CANTOR_ABS=$(cd "$(dirname "$CANTOR")" && pwd)/cantor
expect 0 "bench/codec.sh with a relative data path" sh -c 'cd "$1/.." && "$2/bench/codec.sh" "$3" ./"$4" --quick' \
    sh "$DATA" "$SRC" "$CANTOR_ABS" "$(basename "$DATA")"
grep_out '"regime":"warm","state":"full","train_blocks":23,"blocks":3,' "bench/codec.sh warm summary"
expect 2 "bench/codec.sh without a data directory" "$SRC/bench/codec.sh" "$CANTOR" "$TMP/nope"

echo "cli: $pass passed, $fail failed"
[ "$fail" = 0 ]
