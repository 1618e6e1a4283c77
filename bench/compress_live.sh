#!/usr/bin/env bash
# bench/compress_live.sh BUILD_DIR [BLOCKS] - the live compression ratio of cantord on an anvil chain
# with real traffic (tests/chain), against zstd -19 over the same canonical delta bytes. cantord
# follows the chain from genesis with its compression hook (warm chunks, the first model trained
# after 64 blocks, then compaction of the older chunks); once compaction is done, every block's
# stored chunk and canonical bytes (POST /v1/decompress) are fetched and compared with
#   zstd -19 per block (the same random access as a chunk) and zstd -19 --long over the whole run.
# Prints one JSON line. Uses the integration helpers (127.0.0.1, random ports, temp dir torn down).
. "$(dirname "$0")/../tests/integration/lib.sh"
BLOCKS=${2:-200}
command -v zstd >/dev/null || fail "zstd CLI not installed"

start_chain --blocks "$BLOCKS" --hold --max-seconds 1800
start_cantord
wait_chain_done 900
wait_synced 300
head=$(chain_head)
compacted() {
    curl -sf "$API/v1/compression/stats" | python3 -c '
import json, sys
s = json.load(sys.stdin)
sys.exit(0 if s["trained"] and s["compaction"]["next"] > s["compaction"]["end"] else 1)'
}
wait_for 300 "training and compaction" compacted
mkdir -p "$TMP/b"
stored=0
for ((n = 0; n <= head; n++)); do
    curl -sf "$API/v1/blocks/$n/compressed" -o "$TMP/b/$n.chunk" || fail "chunk $n"
    curl -sf -X POST --data-binary "@$TMP/b/$n.chunk" "$API/v1/decompress" -o "$TMP/b/$n.raw" || fail "decode $n"
    stored=$((stored + $(stat -c %s "$TMP/b/$n.chunk")))
    zstd -q -19 -f "$TMP/b/$n.raw" -o "$TMP/b/$n.zst"
done
raw=$(cat "$TMP"/b/*.raw | wc -c)
zper=$(cat "$TMP"/b/*.zst | wc -c)
for ((n = 0; n <= head; n++)); do cat "$TMP/b/$n.raw"; done | zstd -q -19 --long=27 -c | wc -c >"$TMP/zall"
zall=$(cat "$TMP/zall")
stats=$(curl -sf "$API/v1/compression/stats")
python3 - "$stats" "$head" "$raw" "$stored" "$zper" "$zall" <<'PY'
import json, sys
s = json.loads(sys.argv[1]); head, raw, stored, zper, zall = map(int, sys.argv[2:])
print(json.dumps({"blocks": head + 1, "raw_bytes": raw, "cantord_bytes": stored,
                  "cantord_ratio": round(raw / stored, 3), "zstd19_per_block_bytes": zper,
                  "zstd19_long_whole_run_bytes": zall, "vs_zstd19_per_block": round(stored / zper, 3),
                  "vs_zstd19_whole_run": round(stored / zall, 3), "per_codec": s["perCodec"],
                  "model": s["activeModel"][:18], "promotions": s["lastTraining"]["promotions"],
                  "chunks_reencoded": s["compaction"]["chunksReencoded"]}))
PY
stop_cantord
