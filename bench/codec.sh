#!/bin/sh
# bench/codec.sh CANTOR SHARED_DATA [--quick] - the codec benchmark of record (docs/benchmarks.md):
# cold: train on the recorded trace_replayBlockTransactions blocks minus 6 held out, eval on those 6;
# warm: the consecutive debug_traceBlockByNumber blocks 17,073,191-193 with a model trained on blocks
# that exclude them. Prints the JSON lines of `cantor bench-codec`; exits non-zero on a failed round trip.
set -eu
CANTOR=$1
# absolute: the train/eval sets below are symlinks in a temp dir, which a relative path would break
DATA=$(cd "$2" && pwd) || { echo "bench/codec.sh: no data directory $2" >&2; exit 2; }
shift 2
T=$DATA/erigon-rpc-tests/mainnet/trace_replayBlockTransactions
G=$DATA/erigon-rpc-tests/mainnet/debug_traceBlockByNumber
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
mkdir "$W/train" "$W/eval" "$W/warmtrain"
for f in "$T"/*.json; do
    b=$(basename "$f")
    case $b in
    test_05.json | test_11.json | test_18.json | test_27.json | test_33.json | test_38.json) ln -s "$f" "$W/eval/$b" ;;
    test_40.json) ;; # same block as test_38 (held out)
    *) ln -s "$f" "$W/train/$b" ;;
    esac
    case $b in
    test_37.json | test_38.json | test_39.json | test_40.json) ;; # blocks of the warm stream
    *) ln -s "$f" "$W/warmtrain/$b" ;;
    esac
done
echo "# cold"
"$CANTOR" bench-codec --train "$W/train" --eval "$W/eval" "$@"
echo "# warm"
"$CANTOR" bench-codec --train "$W/warmtrain" --eval "$G" --warm "$@"
