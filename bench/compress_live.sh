#!/usr/bin/env bash
# bench/compress_live.sh BUILD_DIR [BLOCKS=200] [DEPTH=16] - the live compression ratio of cantord on
# an anvil chain with real traffic (tests/chain), against zstd -19 over the same canonical delta bytes.
# cantord follows the chain from genesis with its compression hook (one warm chunk per block, the
# first model trained after 64 blocks, then compaction of the older chunks) and packs final blocks
# $BPC (default 16) to a stored chunk once they are DEPTH blocks below the head (the daemon's default
# depth is 128; a short chain needs a shallower one to have most of it final). Once compaction and
# packing are done, every stored chunk (GET /v1/chunks/N) and every block's own chunk
# (GET /v1/blocks/N/compressed) is fetched and decoded (POST /v1/decompress), and compared with
#   zstd -19 per block (the same random access as a one-block chunk) and zstd -19 --long over the
#   whole run. Every chunk must name a model trained on none of its blocks (model_not_own).
# Prints one JSON line. Uses the integration helpers (127.0.0.1, random ports, temp dir torn down).
. "$(dirname "$0")/../tests/integration/lib.sh"
BLOCKS=${2:-200}
DEPTH=${3:-16}
BPC=${BPC:-16}
command -v zstd >/dev/null || fail "zstd CLI not installed"

start_chain --blocks "$BLOCKS" --hold --max-seconds 1800
start_cantord --set compress_blocks_per_chunk="$BPC" --set compress_pack_depth="$DEPTH"
wait_chain_done 900
wait_synced 300
head=$(chain_head)
settled() {
    curl -sf "$API/v1/compression/stats" | python3 -c '
import json, sys
s = json.load(sys.stdin); head, depth, bpc = map(int, sys.argv[1:])
done = s["trained"] and s["compaction"]["next"] > s["compaction"]["end"]
sys.exit(0 if done and (bpc < 2 or s["packing"]["next"] + depth + bpc > head + 1) else 1)' "$head" "$DEPTH" "$BPC"
}
wait_for 600 "training, compaction and packing" settled
mkdir -p "$TMP/b"
single=0
for ((n = 0; n <= head; n++)); do
    curl -sf "$API/v1/blocks/$n/compressed" -o "$TMP/b/$n.chunk" || fail "chunk $n"
    model_not_own "$TMP/b/$n.chunk"
    curl -sf -X POST --data-binary "@$TMP/b/$n.chunk" "$API/v1/decompress" -o "$TMP/b/$n.raw" || fail "decode $n"
    single=$((single + $(stat -c %s "$TMP/b/$n.chunk")))
    zstd -q -19 -f "$TMP/b/$n.raw" -o "$TMP/b/$n.zst"
done
# The stored chunks, walked by the block range in each header; each decodes to its blocks' bytes.
stored=0
chunks=0
n=0
while [ "$n" -le "$head" ]; do
    curl -sf "$API/v1/chunks/$n" -o "$TMP/s.chunk" || fail "stored chunk of block $n"
    read -r _ last < <(chunk_blocks "$TMP/s.chunk") || fail "stored chunk of block $n: bad header"
    model_not_own "$TMP/s.chunk"
    curl -sf -X POST --data-binary "@$TMP/s.chunk" "$API/v1/decompress" -o "$TMP/s.raw" || fail "decode stored $n"
    for ((k = n; k <= last; k++)); do cat "$TMP/b/$k.raw"; done | cmp -s - "$TMP/s.raw" ||
        fail "stored chunk of blocks $n..$last decodes to other bytes"
    stored=$((stored + $(stat -c %s "$TMP/s.chunk")))
    chunks=$((chunks + 1))
    n=$((last + 1))
done
raw=$(cat "$TMP"/b/*.raw | wc -c)
zper=$(cat "$TMP"/b/*.zst | wc -c)
for ((n = 0; n <= head; n++)); do cat "$TMP/b/$n.raw"; done | zstd -q -19 --long=27 -c | wc -c >"$TMP/zall"
zall=$(cat "$TMP/zall")
stats=$(curl -sf "$API/v1/compression/stats")
python3 - "$stats" "$head" "$raw" "$stored" "$zper" "$zall" "$single" "$chunks" <<'PY'
import json, sys
s = json.loads(sys.argv[1]); head, raw, stored, zper, zall, single, chunks = map(int, sys.argv[2:])
print(json.dumps({"blocks": head + 1, "raw_bytes": raw, "cantord_bytes": stored, "stored_chunks": chunks,
                  "blocks_per_chunk": s["packing"]["blocksPerChunk"], "cantord_ratio": round(raw / stored, 3),
                  "one_block_chunks_bytes": single, "zstd19_per_block_bytes": zper,
                  "zstd19_long_whole_run_bytes": zall, "vs_zstd19_per_block": round(stored / zper, 3),
                  "vs_zstd19_whole_run": round(stored / zall, 3),
                  "one_block_chunks_vs_zstd19_whole_run": round(single / zall, 3), "per_codec": s["perCodec"],
                  "model": s["activeModel"][:18], "promotions": s["lastTraining"]["promotions"],
                  "chunks_reencoded": s["compaction"]["chunksReencoded"]}))
PY
stop_cantord
