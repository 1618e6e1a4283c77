#!/bin/sh
# bench/codec_loo.sh CANTOR SHARED_DATA - the cold codec, leave one out: every distinct recorded block
# of trace_replayBlockTransactions is coded with a model trained on all the others (test_39/40 repeat
# 17,073,191/192 with a withdrawals entry: they are neither evaluated nor trained on with their twin).
# A harder and less lucky figure than bench/codec.sh's six held-out blocks, one of which has its
# neighbour block in training. Prints one line per block (the bench-codec summary's figures) and a
# total with the ratio against zstd -19 with the trained dictionary, from the same runs.
set -eu
CANTOR=$1
DATA=$(cd "$2" && pwd) || { echo "bench/codec_loo.sh: no data directory $2" >&2; exit 2; }
T=$DATA/erigon-rpc-tests/mainnet/trace_replayBlockTransactions
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
for f in "$T"/*.json; do
    b=$(basename "$f" .json)
    case $b in test_39 | test_40) continue ;; esac
    rm -rf "$W/train"
    mkdir "$W/train"
    for g in "$T"/*.json; do
        c=$(basename "$g" .json)
        case "$b:$c" in "$b:$b" | test_37:test_39 | test_38:test_40) continue ;; esac
        ln -s "$g" "$W/train/"
    done
    "$CANTOR" bench-codec --train "$W/train" --eval "$f" 2>/dev/null | grep '"summary"' |
        sed "s/^{/{\"file\":\"$b\",/" >>"$W/out"
done
python3 - "$W/out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
t = {"blocks": 0, "raw_bytes": 0, "bytes": 0, "zstd19_dict_bytes": 0, "over_1": 0}
for r in rows:
    ratio = r["bytes"] / r["zstd19_dict_bytes"]
    print(json.dumps({"file": r["file"], "raw_bytes": r["raw_bytes"], "bytes": r["bytes"],
                      "zstd19_dict_bytes": r["zstd19_dict_bytes"], "ratio": round(ratio, 4),
                      "codecs": r["codecs"], "header_bytes": r["header_bytes"]}))
    t["blocks"] += 1
    for k in ("raw_bytes", "bytes", "zstd19_dict_bytes"):
        t[k] += r[k]
    t["over_1"] += ratio > 1
t["ratio_vs_zstd19_dict"] = round(t["bytes"] / t["zstd19_dict_bytes"], 4)
print(json.dumps(dict(summary=True, **t)))
PY
