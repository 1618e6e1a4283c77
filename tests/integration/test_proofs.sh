#!/usr/bin/env bash
# cantord follows the anvil chain (traffic + a reorg) and serves proofs: for a sample of keys changed
# at an old block and at a recent block, delta proofs and state proofs (at that block and at the head)
# are fetched from the live endpoints and checked offline with `cantor verify --key` (the key from
# /v1/checkpoint/keys, pinned to the secp256k1 address too); tampered copies must fail; POST
# /v1/verify agrees. Also checks checkpoint_interval checkpoints, the ABI form and the key files.
. "$(dirname "$0")/lib.sh"

CANTOR=$BUILD/daemon/cantor
[ -x "$CANTOR" ] || fail "no cantor CLI at $CANTOR"

start_chain --blocks 60 --reorgs 1 --hold --max-seconds 600
start_cantord --set checkpoint_interval=8
wait_chain_done 300
wait_synced 180
head=$(chain_head)
log "chain head $head; cantord in sync"

keys=$(curl -sf "$API/v1/checkpoint/keys") || fail "GET /v1/checkpoint/keys"
KEY=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["ed25519"])' "$keys")
ETH=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["ethAddress"])' "$keys")
for f in checkpoint-ed25519.key checkpoint-secp256k1.key; do
    [ "$(stat -c %a "$TMP/data/keys/$f")" = 600 ] || fail "$f is not mode 0600"
done
cp=$(curl -sf "$API/v1/checkpoint/latest") || fail "no checkpoint after $head blocks with checkpoint_interval=8"
python3 -c 'import json,sys; n=int(json.loads(sys.argv[1])["number"],16); sys.exit(0 if n % 8 == 0 else 1)' "$cp" ||
    fail "latest checkpoint is not at a multiple of checkpoint_interval: $cp"
curl -s -o /dev/null -w '%{http_code}' -X POST "$API/v1/checkpoint" | grep -q 401 || fail "POST /v1/checkpoint without a token"

# keys to prove: up to 4 entries (accounts and slots) of a block, as "path-suffix" lines
sample() {
    curl -sf "$API/v1/blocks/$1/delta" | python3 -c '
import json, sys
d = json.load(sys.stdin); out = []; seen = set()
for e in d["entries"]:
    k = e["kind"]
    if k in seen and len(out) >= 2: continue
    seen.add(k)
    a = e["address"]
    out.append(a + "/storage/" + e["slot"] if k == "storage" else a + "?kind=" + k)
    if len(out) == 4: break
print("\n".join(out))'
}

check() { # URL NAME : fetch, verify, tamper
    local url=$1 name=$2 out=$TMP/$2.json
    curl -sf "$url" -o "$out" || fail "GET $url"
    "$CANTOR" verify "$out" --key "$KEY" --eth-address "$ETH" >/dev/null 2>"$TMP/verify.err" ||
        fail "$name does not verify: $(cat "$TMP/verify.err")"
    curl -sf -X POST --data-binary @"$out" "$API/v1/verify" | grep -q '"valid": *true' || fail "$name: /v1/verify"
    python3 - "$out" "$TMP/bad.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
r = d["block"]["stateRoot"]
d["block"]["stateRoot"] = r[:-1] + ("0" if r[-1] != "0" else "1")
json.dump(d, open(sys.argv[2], "w"))
PY
    if "$CANTOR" verify "$TMP/bad.json" --key "$KEY" >/dev/null 2>&1; then fail "tampered $name verifies"; fi
    curl -sf -X POST --data-binary @"$TMP/bad.json" "$API/v1/verify" | grep -q '"valid": *false' ||
        fail "tampered $name: /v1/verify"
    n_checked=$((n_checked + 1))
}

n_checked=0
last_key="" last_blk="" old_state_url=""
old=3
new=$((head - 1))
for blk in $old $new; do
    while read -r key; do
        [ -n "$key" ] || continue
        addr=${key%%[/?]*}
        rest=${key#"$addr"}
        last_key=$key last_blk=$blk
        check "$API/v1/proofs/delta/$blk/$key" "delta-$blk-$n_checked"
        if [[ $rest == \?* ]]; then
            url="$API/v1/proofs/state/$addr$rest&block=$blk"
            check "$url" "state-$blk-$n_checked"
            check "$API/v1/proofs/state/$addr$rest" "state-head-$n_checked"
        else
            url="$API/v1/proofs/state/$key?block=$blk"
            check "$url" "state-$blk-$n_checked"
            check "$API/v1/proofs/state/$key" "state-head-$n_checked"
        fi
        [ "$blk" = "$old" ] && old_state_url=$url
    done < <(sample "$blk")
done
[ "$n_checked" -ge 12 ] || fail "only $n_checked proofs checked"
# ABI form decoded by ethers against the documented structs (docs/formats.md "ABI proof encoding")
abi_check() { # JSON-URL KIND(delta|state)
    curl -sf "$1" -o "$TMP/abi.json" || fail "GET $1"
    curl -sf "$1$([[ $1 == *\?* ]] && echo '&' || echo '?')format=abi" -o "$TMP/abi.hex.json" || fail "GET $1 (abi)"
    (cd "$CHAIN" && node --input-type=module - "$TMP/abi.json" "$TMP/abi.hex.json" "$2") <<'JS' || fail "ABI of $1 does not decode to the JSON proof"
import { AbiCoder } from "ethers";
import { readFileSync } from "node:fs";
const [doc, abi, kind] = [JSON.parse(readFileSync(process.argv[2])), JSON.parse(readFileSync(process.argv[3])), process.argv[4]];
const cp = "tuple(uint64,uint64,bytes32,bytes32)";
const t = kind === "delta"
  ? `tuple(uint64,address,uint8,bytes32,bytes32,bytes32,bytes32[],bytes32,bytes32,bytes32,uint64,uint64,bytes32[],bytes32[],${cp},bytes)`
  : `tuple(uint64,address,uint8,bytes32,bool,bytes32,uint8,bytes32,bytes32,uint16,uint256,bytes32[],bytes32,bytes32,bytes32,uint64,uint64,bytes32[],bytes32[],${cp},bytes)`;
const [p] = AbiCoder.defaultAbiCoder().decode([t], abi.abi);
const eq = (a, b, what) => { if (String(a).toLowerCase() !== String(b).toLowerCase()) { console.error(what, a, b); process.exit(1); } };
eq(p[0], BigInt(doc.block.number), "blockNumber");
const off = kind === "delta" ? 7 : 12;
eq(p[off], doc.block.deltaRoot, "deltaRoot"); eq(p[off + 1], doc.block.stateRoot, "stateRoot"); eq(p[off + 2], doc.block.hash, "blockHash");
eq(p[off + 3], BigInt(doc.mmrProof.leafIndex), "leafIndex"); eq(p[off + 4], BigInt(doc.mmrProof.leafCount), "leafCount");
eq(p[off + 5].join(), doc.mmrProof.siblings.join(), "mmrSiblings"); eq(p[off + 6].join(), doc.mmrProof.peaks.join(), "mmrPeaks");
eq(p[off + 7][3], doc.checkpoint.mmrRoot, "mmrRoot"); eq(p[off + 8], doc.checkpoint.secp256k1, "signature");
if (kind === "delta") { eq(p[1], doc.entry.address, "addr"); eq(p[5], doc.entry.new, "newValue"); eq(p[6].join(), doc.deltaProof.join(), "deltaProof"); }
else { eq(p[1], doc.key.address, "addr"); eq(p[4], doc.value !== null, "present"); eq(p[11].join(), doc.stateProof.siblings.join(), "smtSiblings"); }
JS
}
abi_check "$API/v1/proofs/delta/$last_blk/$last_key" delta
# A key that changed at the old block: its state proof there is an inclusion proof.
abi_check "$old_state_url" state
size=$(curl -sf "$old_state_url" | wc -c)
abi=$(curl -sf "$old_state_url&format=abi" | python3 -c 'import json,sys; print(json.load(sys.stdin)["bytes"])')
# A key cantord knows at the old block only because it changed later: no non-membership proof (it
# would read as zero); the endpoint says why instead.
code=$(curl -s -o "$TMP/refused.json" -w '%{http_code}' "$API/v1/proofs/state/$addr?kind=balance&block=1")
case $code in
200) # absent (value null) is only honest when cantord's value there is zero or unknown
    bal=$(rpc "$API/rpc" eth_getBalance "[\"$addr\",\"0x1\"]" 2>/dev/null || echo unknown)
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d.get("value") is not None or sys.argv[2] in ("unknown", "\"0x0\"") else 1)' \
        "$TMP/refused.json" "$bal" || fail "an absent state proof was served for a key whose value is $bal" ;;
422 | 404) grep -q '"error"' "$TMP/refused.json" || fail "refusal without an error envelope" ;;
*) fail "state proof of a later-changed key at block 1: HTTP $code" ;;
esac
# Accounts touched at the old block: cantord knows their code hash (changed, or observed with
# eth_getProof: keccak256("") for an EOA), and an observed value is in the state tree from the block
# that observed it on, so at the head each gets a verifying proof, never a 422; an EOA's is an
# inclusion proof of keccak256("").
n_code=0
while read -r key; do
    [ -n "$key" ] || continue
    a=${key%%[/?]*}
    code=$(curl -s -o "$TMP/code.json" -w '%{http_code}' "$API/v1/proofs/state/$a?kind=code")
    [ "$code" = 200 ] || fail "state proof of the code hash of $a (touched at block $old) at the head: HTTP $code $(cat "$TMP/code.json")"
    check "$API/v1/proofs/state/$a?kind=code" "state-code-$a"
    python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))["value"]; sys.exit(0 if v else 1)' \
        "$TMP/state-code-$a.json" && n_code=$((n_code + 1))
done < <(sample "$old")
[ "$n_code" -ge 1 ] || fail "no code hash of an account touched at block $old is in the state tree at the head"
roots_ms=$(curl -sf "$API/metrics" | awk '/^cantor_roots_ms /{print $2}')
[ -n "$roots_ms" ] || fail "no cantor_roots_ms in /metrics"
avg=$(grep -o '[0-9.]* ms/block average' "$TMP/cantord.log" | tail -n 1 || true)
log "proof of a balance at block $old (head $head): JSON $size bytes, ABI $abi bytes; roots: last block $roots_ms ms, ${avg:-no average logged}"
stop_cantord
echo "proofs: ok ($n_checked proofs verified, tampered copies refused)"
