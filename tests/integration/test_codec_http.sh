#!/usr/bin/env bash
# The compression engine in a live cantord: follow an anvil chain with real traffic, then for every
# block fetch the stored chunk (GET /v1/blocks/N/compressed), decode it through POST /v1/decompress
# (binary and ?format=json) and compare with /v1/blocks/N/delta; re-encode the canonical bytes cold
# with POST /v1/compress and decode that chunk offline with the `cantor decompress` CLI (a stored warm
# chunk needs the state at its parent, which only the daemon's store has); corrupt, truncated and
# unknown-model chunks must get a 400 that says which. Final blocks are packed 4 to a stored chunk
# here (compress_blocks_per_chunk=4, compress_pack_depth=4): every block is still served alone, and
# GET /v1/chunks/N returns the stored chunk of several blocks, which the daemon decodes to all of them.
# No chunk names a model trained on one of its own blocks (model_not_own).
. "$(dirname "$0")/lib.sh"

CANTOR=$BUILD/daemon/cantor
[ -x "$CANTOR" ] || fail "no cantor CLI at $CANTOR"

start_chain --blocks 30 --hold --max-seconds 600
# A model is trained after 16 followed blocks (default 64), so this short chain gets one.
start_cantord --set compress_train_blocks=16 --set compress_blocks_per_chunk=4 --set compress_pack_depth=4
wait_chain_done 300
wait_synced 180
head=$(chain_head)
log "chain head $head; cantord in sync"

# The active model once trained: cold chunks below are made with it, so the CLI gets its bundle.
trained() { curl -sf "$API/v1/compression/stats" | jq -e '.trained == true' >/dev/null; }
wait_for 180 "a trained model" trained
active=$(curl -sf "$API/v1/compression/stats" | jq -r .activeModel)
curl -sf "$API/v1/models/$active" -o "$TMP/model.bundle" || fail "GET /v1/models/$active"
# Runs of 4 blocks ending at or below head - 4 are packed; the trainer does a few per second.
packed() { curl -sf "$API/v1/compression/stats" | jq -e --argjson h "$head" '.packing.next >= $h - 7' >/dev/null; }
wait_for 180 "the final blocks packed" packed

mkdir -p "$TMP/c"
# fetch_block N: block N's own chunk, decoded by the daemon (bytes in $TMP/c/N.raw, and as JSON equal
# to /v1/blocks/N/delta)
fetch_block() {
    local n=$1
    curl -sf "$API/v1/blocks/$n/compressed" -o "$TMP/c/$n.chunk" || fail "GET compressed $n"
    model_not_own "$TMP/c/$n.chunk"
    curl -sf -X POST --data-binary "@$TMP/c/$n.chunk" "$API/v1/decompress" -o "$TMP/c/$n.raw" ||
        fail "POST /v1/decompress of block $n"
    curl -sf -X POST --data-binary "@$TMP/c/$n.chunk" "$API/v1/decompress?format=json" -o "$TMP/c/$n.json" ||
        fail "POST /v1/decompress?format=json of block $n"
    curl -sf "$API/v1/blocks/$n/delta" -o "$TMP/c/$n.delta" || fail "GET delta $n"
    python3 - "$TMP/c/$n.json" "$TMP/c/$n.delta" "$n" <<'PY' || fail "block $n: decompressed entries differ from /delta"
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
ok = a["entries"] == b["entries"] and a["count"] == b["count"] and a["number"] == int(sys.argv[3])
sys.exit(0 if ok else 1)
PY
}
checked=0
for ((n = 0; n <= head; n++)); do
    fetch_block "$n"
    # Offline: a cold chunk of the same canonical bytes, decoded by the CLI, byte for byte.
    curl -sf -X POST --data-binary "@$TMP/c/$n.raw" "$API/v1/compress" -o "$TMP/c/$n.cold" ||
        fail "POST /v1/compress of block $n"
    "$CANTOR" decompress --model "$TMP/model.bundle" "$TMP/c/$n.cold" "$TMP/c/$n.cli" 2>>"$TMP/cli.log" ||
        fail "cantor decompress of block $n"
    cmp -s "$TMP/c/$n.raw" "$TMP/c/$n.cli" || fail "block $n: CLI output differs from the daemon's"
    checked=$((checked + 1))
done
log "$checked chunks decoded by the daemon and the CLI, all equal to /v1/blocks/N/delta"

# JSON lines in, chunk out: the delta of the head block as entries.
python3 - "$TMP/c/$head.delta" >"$TMP/head.jsonl" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print(json.dumps({"block": d["number"]}))
for e in d["entries"]:
    print(json.dumps(e))
PY
curl -sf -X POST --data-binary "@$TMP/head.jsonl" "$API/v1/compress" -o "$TMP/head.chunk" || fail "compress JSON lines"
curl -sf -X POST --data-binary "@$TMP/head.chunk" "$API/v1/decompress" -o "$TMP/head.raw" || fail "decompress"
cmp -s "$TMP/head.raw" "$TMP/c/$head.raw" || fail "JSON lines -> chunk -> bytes differs from the stored delta"

# A raw chunk of two blocks (docs/formats.md "Several blocks per chunk"), built by hand from the
# canonical bytes of blocks 1 and 2: decoded to both, and to {"blocks":[...]} as JSON; the same bytes
# naming three blocks are refused.
multi_chunk() { # SPAN OUT: header (raw codec, no model) + checksum (keccak via the CLI) + content
    cat "$TMP/c/1.raw" "$TMP/c/2.raw" >"$TMP/m.raw"
    python3 - "$1" "$TMP/m.raw" "$TMP/m.head" <<'PY'
import sys
def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7f; v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v: return bytes(out)
n = len(open(sys.argv[2], "rb").read())
h = b"CNTC" + bytes([2, 0, 0]) + bytes(8) + varint(1) + varint(int(sys.argv[1])) + varint(n) + varint(n)
open(sys.argv[3], "wb").write(h)
PY
    cat "$TMP/m.head" "$TMP/m.raw" >"$TMP/m.sum"
    sum=$("$CANTOR" keccak --file "$TMP/m.sum") || fail "cantor keccak"
    python3 -c 'import sys; o = open(sys.argv[4], "wb"); o.write(open(sys.argv[1], "rb").read())
o.write(bytes.fromhex(sys.argv[2][2:18])); o.write(open(sys.argv[3], "rb").read())' \
        "$TMP/m.head" "$sum" "$TMP/m.raw" "$2"
}
multi_chunk 1 "$TMP/multi.chunk"
curl -sf -X POST --data-binary "@$TMP/multi.chunk" "$API/v1/decompress" -o "$TMP/multi.raw" ||
    fail "POST /v1/decompress of a two-block chunk"
cmp -s "$TMP/multi.raw" "$TMP/m.raw" || fail "two-block chunk: bytes differ"
curl -sf -X POST --data-binary "@$TMP/multi.chunk" "$API/v1/decompress?format=json" |
    jq -e '[.blocks[].number] == [1, 2] and (.blocks[0].entries | length) == .blocks[0].count' >/dev/null ||
    fail "two-block chunk: JSON is not {\"blocks\":[1, 2]}"
multi_chunk 2 "$TMP/multi3.chunk"
code=$(curl -s -o "$TMP/err.json" -w '%{http_code}' -X POST --data-binary "@$TMP/multi3.chunk" "$API/v1/decompress")
[ "$code" = 400 ] || fail "a chunk naming a block it lacks: status $code, want 400"
log "a two-block chunk decodes (bytes and JSON); one naming a third block it lacks is refused"

# GET /v1/blocks/{n}/compressed?count=K: blocks n .. n+K-1 in one self-contained chunk, decoded
# offline with the model bundle alone and by the daemon, and smaller than the K blocks' cold chunks.
# It starts after the active model's training blocks, so it is coded with that model (a range over
# them gets a model not trained on them: model_not_own).
rs=$(($(curl -sf "$API/v1/compression/stats" | jq -r .lastTraining.lastLastBlock) + 1))
rk=$((head - rs + 1 < 16 ? head - rs + 1 : 16))
re=$((rs + rk - 1))
[ "$rk" -ge 4 ] || fail "the model was trained on blocks up to $((rs - 1)) of $head: no range after them"
curl -sf "$API/v1/blocks/$rs/compressed?count=$rk" -o "$TMP/range.chunk" ||
    fail "GET /v1/blocks/$rs/compressed?count=$rk"
model_not_own "$TMP/range.chunk"
[ "$(od -An -tx1 -j7 -N8 "$TMP/range.chunk" | tr -d ' \n')" = "${active:2:16}" ] ||
    fail "the range chunk of blocks $rs..$re does not name the active model"
cold=0
: >"$TMP/range.want"
for ((n = rs; n <= re; n++)); do
    cat "$TMP/c/$n.raw" >>"$TMP/range.want"
    cold=$((cold + $(stat -c %s "$TMP/c/$n.cold")))
done
"$CANTOR" decompress --model "$TMP/model.bundle" "$TMP/range.chunk" "$TMP/range.cli" 2>>"$TMP/cli.log" ||
    fail "cantor decompress --model of the range chunk"
cmp -s "$TMP/range.want" "$TMP/range.cli" || fail "range chunk: offline decode differs from blocks $rs..$re"
curl -sf -X POST --data-binary "@$TMP/range.chunk" "$API/v1/decompress" -o "$TMP/range.raw" ||
    fail "POST /v1/decompress of the range chunk"
cmp -s "$TMP/range.want" "$TMP/range.raw" || fail "range chunk: the daemon's decode differs from blocks $rs..$re"
range=$(stat -c %s "$TMP/range.chunk")
[ "$range" -lt "$cold" ] || fail "range chunk $range bytes, not below the $rk cold chunks ($cold)"
for q in count=0 count=33 count=x count=2\&count=3 limit=2; do
    code=$(curl -s -o "$TMP/err.json" -w '%{http_code}' "$API/v1/blocks/11/compressed?$q")
    [ "$code" = 400 ] || fail "compressed?$q: status $code, want 400"
done
code=$(curl -s -o "$TMP/err.json" -w '%{http_code}' "$API/v1/blocks/$head/compressed?count=2")
[ "$code" = 404 ] || fail "a range past the head: status $code, want 404"
log "blocks $rs..$re as one chunk: $range bytes (their cold chunks: $cold); decoded offline and by the daemon"

# The stored chunks: runs of 4 blocks (those that came out smaller packed), the rest one each. Each
# decodes through the daemon to exactly its blocks' bytes (binary and JSON); the CLI refuses a packed
# warm one, since it is coded against the state before its first block.
walk_stored() { # LAST: walks blocks 0..LAST; needs $TMP/c/N.raw of each; sets chunks multi warm *_bytes
    local n=0 first last k codec
    chunks=0 multi=0 warm=0 packed_bytes=0 single_bytes=0
    while [ "$n" -le "$1" ]; do
        curl -sf "$API/v1/chunks/$n" -o "$TMP/s.chunk" || fail "GET /v1/chunks/$n"
        read -r first last < <(chunk_blocks "$TMP/s.chunk") || fail "chunk of block $n: bad header"
        [ "$first" -le "$n" ] && [ "$last" -ge "$n" ] || fail "GET /v1/chunks/$n gave blocks $first..$last"
        model_not_own "$TMP/s.chunk"
        : >"$TMP/s.want"
        for ((k = first; k <= last; k++)); do cat "$TMP/c/$k.raw" >>"$TMP/s.want"; done
        curl -sf -X POST --data-binary "@$TMP/s.chunk" "$API/v1/decompress" -o "$TMP/s.raw" ||
            fail "POST /v1/decompress of the stored chunk of blocks $first..$last"
        cmp -s "$TMP/s.want" "$TMP/s.raw" || fail "stored chunk of blocks $first..$last: bytes differ"
        if [ "$last" -gt "$first" ]; then
            curl -sf -X POST --data-binary "@$TMP/s.chunk" "$API/v1/decompress?format=json" |
                jq -e --argjson f "$first" --argjson l "$last" '[.blocks[].number] == [range($f; $l + 1)]' \
                    >/dev/null || fail "stored chunk of blocks $first..$last: JSON blocks differ"
            codec=$(od -An -tu1 -j5 -N1 "$TMP/s.chunk" | tr -d ' ')
            if [ "$codec" = 3 ]; then # warm CM (zstd-dict or raw ones decode offline like any other)
                if "$CANTOR" decompress "$TMP/s.chunk" "$TMP/x.out" 2>"$TMP/packed.err"; then
                    fail "the CLI decoded a packed warm chunk without the daemon's state"
                fi
                grep -q "needs the state and keys before block $first" "$TMP/packed.err" ||
                    fail "CLI on a packed warm chunk: $(cat "$TMP/packed.err")"
                warm=$((warm + 1))
            fi
            multi=$((multi + 1))
            packed_bytes=$((packed_bytes + $(stat -c %s "$TMP/s.chunk")))
            for ((k = first; k <= last; k++)); do single_bytes=$((single_bytes + $(stat -c %s "$TMP/c/$k.chunk"))); done
        fi
        chunks=$((chunks + 1))
        n=$((last + 1))
    done
}
walk_stored "$head"
[ "$multi" -gt 0 ] || fail "no stored chunk holds several blocks"
[ "$packed_bytes" -lt "$single_bytes" ] || fail "packed chunks ($packed_bytes B) not below their blocks' own ($single_bytes B)"
curl -sf "$API/v1/compression/stats" | jq -e --argjson c "$chunks" '.chunks == $c and .chunks < .blocks and .packing.blocksPerChunk == 4' >/dev/null ||
    fail "stats do not count the stored chunks ($chunks): $(curl -sf "$API/v1/compression/stats")"
code=$(curl -s -o /dev/null -w '%{http_code}' "$API/v1/chunks/$((head + 1))")
[ "$code" = 404 ] || fail "GET /v1/chunks past the head: status $code, want 404"
log "$((head + 1)) blocks in $chunks stored chunks ($multi packed, $warm of them warm CM: $packed_bytes B, their blocks alone $single_bytes B); each decodes to its blocks"

# Bad chunks: precise 400s. Pick the largest chunk so it has a payload.
big=$(ls -S "$TMP"/c/*.chunk | head -1)
expect_400() { # FILE WORD
    local code
    code=$(curl -s -o "$TMP/err.json" -w '%{http_code}' -X POST --data-binary "@$1" "$API/v1/decompress")
    [ "$code" = 400 ] || fail "$(basename "$1"): status $code, want 400"
    grep -qi "$2" "$TMP/err.json" || fail "$(basename "$1"): message $(cat "$TMP/err.json") lacks '$2'"
}
size=$(stat -c %s "$big")
head -c $((size / 2)) "$big" >"$TMP/trunc.chunk"
expect_400 "$TMP/trunc.chunk" truncated
python3 - "$big" "$TMP/flip.chunk" "$TMP/model.chunk" "$TMP/magic.chunk" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
f = bytearray(b); f[-1] ^= 0x5a; open(sys.argv[2], "wb").write(f)
m = bytearray(b); m[7] ^= 0x01; open(sys.argv[3], "wb").write(m)
g = bytearray(b); g[0:4] = b"XXXX"; open(sys.argv[4], "wb").write(g)
PY
expect_400 "$TMP/flip.chunk" corrupt
expect_400 "$TMP/model.chunk" "unknown model"
expect_400 "$TMP/magic.chunk" corrupt
log "truncated / corrupt / unknown-model chunks refused with precise 400s"

stats=$(curl -sf "$API/v1/compression/stats") || fail "GET /v1/compression/stats"
status=$(curl -sf "$API/v1/status") || fail "GET /v1/status"
python3 - "$stats" "$status" "$head" <<'PY' || fail "stats do not add up: $stats"
import json, sys
s = json.loads(sys.argv[1]); st = json.loads(sys.argv[2]); head = int(sys.argv[3])
print(f"stats: {s['blocks']} blocks, {s['rawBytes']} raw -> {s['storedBytes']} stored, ratio {s['ratio']:.2f}, "
      f"per codec {s['perCodec']}, model {s['activeModel'][:18]}")
ok = s["blocks"] == head + 1 and s["rawBytes"] > s["storedBytes"] > 0 and sum(s["perCodec"].values()) == s["blocks"]
ok = ok and st["compression"]["known"] and st["compression"]["modelVersion"] == s["activeModel"]
sys.exit(0 if ok else 1)
PY
# Offline with the model a chunk names (what a light client does): encode the largest block cold with
# the trained active model, fetch that model's bundle (by hash, prefix, 'active'), decode with the CLI. Without the bundle the CLI
# must refuse (unknown model); a corrupt bundle must be refused too.
[ "$(curl -sf "$API/v1/compression/stats" | jq -r .activeModel)" = "$active" ] || fail "the active model changed"
bigraw=$(ls -S "$TMP"/c/*.raw | head -1)
curl -sf -X POST --data-binary "@$bigraw" "$API/v1/compress" -o "$TMP/trained.cold" || fail "POST /v1/compress"
curl -sf "$API/v1/models/active" -o "$TMP/model2.bundle" || fail "GET /v1/models/active"
curl -sf "$API/v1/models/${active:0:18}" -o "$TMP/model3.bundle" || fail "GET /v1/models/<8-byte prefix>"
cmp -s "$TMP/model.bundle" "$TMP/model2.bundle" && cmp -s "$TMP/model.bundle" "$TMP/model3.bundle" ||
    fail "the bundle differs between hash, prefix and 'active'"
if "$CANTOR" decompress "$TMP/trained.cold" "$TMP/x.out" 2>"$TMP/nomodel.err"; then
    fail "a chunk of the trained model decoded with the untrained one"
fi
grep -qi "unknown model" "$TMP/nomodel.err" || fail "no 'unknown model' message: $(cat "$TMP/nomodel.err")"
"$CANTOR" decompress --model "$TMP/model.bundle" "$TMP/trained.cold" "$TMP/trained.out" ||
    fail "cantor decompress --model"
cmp -s "$bigraw" "$TMP/trained.out" || fail "offline decode with the bundle differs from the canonical bytes"
python3 - "$TMP/model.bundle" "$TMP/bad.bundle" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read()); b[len(b) // 2] ^= 0x40; open(sys.argv[2], "wb").write(b)
PY
if "$CANTOR" decompress --model "$TMP/bad.bundle" "$TMP/trained.cold" "$TMP/x.out" 2>"$TMP/bad.err"; then
    fail "a corrupt bundle was accepted"
fi
# A flipped byte either breaks the bundle's framing or canonical form (refused while reading it) or
# yields a valid but different training set, i.e. another model: the chunk then names a model the
# bundle does not rebuild. Never wrong bytes.
grep -Eq "model bundle|the chunk names model 0x${active:2:16}" "$TMP/bad.err" || fail "corrupt bundle: $(cat "$TMP/bad.err")"
code=$(curl -s -o /dev/null -w '%{http_code}' "$API/v1/models/0x$(printf '%064d' 0)")
[ "$code" = 404 ] || fail "unknown model: status $code, want 404"
code=$(curl -s -o /dev/null -w '%{http_code}' "$API/v1/models/0xzz")
[ "$code" = 400 ] || fail "bad model hash: status $code, want 400"
log "cold chunk of the trained model ${active:0:18} decoded offline from its bundle ($(stat -c %s "$TMP/model.bundle") bytes)"

# A reorg 12 blocks deep, deeper than the pack depth (4): 12 new blocks are mined and packed, then
# replaced by 13 others. The rollback unpacks the runs it reaches (the one holding the old head keeps
# its blocks below the fork as one-block chunks); afterwards every block and stored chunk decodes to
# the new chain's deltas, and the runs are packed again once final.
from=$(rpc "$CHAIN_URL" eth_accounts '[]' | jq -r '.[-1]')
snap=$(rpc "$CHAIN_URL" evm_snapshot '[]')
mine_transfers() { # COUNT TAG
    local i
    for ((i = 0; i < $1; i++)); do
        rpc "$CHAIN_URL" eth_sendTransaction \
            "[{\"from\":\"$from\",\"to\":\"$(printf '0x%08x%032x' "$2" "$i")\",\"value\":\"0x1000\"}]" >/dev/null
        rpc "$CHAIN_URL" evm_mine '[]' >/dev/null
    done
}
mine_transfers 12 $((0xdead))
wait_synced 60
packed_to() { curl -sf "$API/v1/compression/stats" | jq -e --argjson n "$1" '.packing.next >= $n' >/dev/null; }
wait_for 60 "the new blocks packed" packed_to $((head + 12 - 7))
rpc "$CHAIN_URL" evm_revert "[$snap]" >/dev/null
mine_transfers 13 $((0xbeef))
wait_synced 60
grep -q "unpacked the chunk of blocks" "$TMP/cantord.log" || fail "the reorg unpacked no stored chunk"
new_head=$(chain_head)
wait_for 60 "the new blocks packed" packed_to $((new_head - 7))
for ((n = head - 8; n <= new_head; n++)); do fetch_block "$n"; done
walk_stored "$new_head"
curl -sf "$API/v1/compression/stats" |
    jq -e --argjson c "$chunks" --argjson b $((new_head + 1)) '.chunks == $c and .blocks == $b' >/dev/null ||
    fail "after the reorg the stats do not count $chunks chunks of $((new_head + 1)) blocks: $(curl -sf "$API/v1/compression/stats")"
log "reorg of 12 blocks across packed chunks: $(grep -c "unpacked the chunk" "$TMP/cantord.log") unpacked; blocks 0..$new_head in $chunks stored chunks ($multi packed), all decode to the new chain"

stop_cantord
echo "codec-http: ok"
