#!/usr/bin/env bash
# Real Ethereum clients against cantord's /rpc and anvil, identical answers required: ethers v6
# (tests/chain/client_check.mjs: numbers, tags, block hashes, EIP-1898 objects, batched calls) and
# foundry's `cast` (npm @foundry-rs/cast, skipped with a note if its binary is not installed).
. "$(dirname "$0")/lib.sh"

start_chain --blocks 80 --hold --max-seconds 900
start_cantord
wait_chain_done 300
wait_synced 180
HEAD=$(chain_head)
log "chain head $HEAD, cantord in sync"

(cd "$CHAIN" && node client_check.mjs --anvil "$CHAIN_URL" --cantord "$API/rpc" --from 1 --to "$HEAD" \
    --blocks 30 --keys 6) >"$TMP/client_check.json" 2>"$TMP/client_check.log" || {
    cat "$TMP/client_check.json" "$TMP/client_check.log" >&2
    fail "ethers saw different answers from anvil and cantord"
}
jq -c '{checked, mismatches, byForm}' "$TMP/client_check.json" >&2
jq -e '.checked >= 500 and .mismatches == 0' "$TMP/client_check.json" >/dev/null || fail "too few ethers checks"

CAST=${CAST_BIN:-$CHAIN/node_modules/@foundry-rs/cast-linux-amd64/bin/cast}
if ! "$CAST" --version >/dev/null 2>&1; then
    echo "client-check: ethers ok; cast not installed ($CAST), cast part skipped" >&2
    echo "clients: ok (ethers only)"
    exit 0
fi
n=0
same_cast() {
    local a c
    a=$("$CAST" "$@" --rpc-url "$CHAIN_URL" 2>&1) || fail "cast $* against anvil failed: $a"
    c=$("$CAST" "$@" --rpc-url "$API/rpc" 2>&1) || fail "cast $* against cantord failed: $c"
    [ "$a" = "$c" ] || fail "cast $*: anvil '$a' cantord '$c'"
    n=$((n + 1))
}
same_cast chain-id
same_cast block-number
# Keys from the deltas cantord stored (anvil must agree on every value at those blocks).
for b in 11 $((HEAD / 3)) $((HEAD / 2)) $((HEAD - 1)); do
    hash=$(chain_hash "$b")
    delta=$(curl -sf "$API/v1/blocks/$b/delta") || fail "no delta for block $b"
    while read -r addr slot; do
        for blk in "$b" "$hash" "$HEAD" latest; do
            if [ "$slot" = null ]; then
                same_cast balance "$addr" --block "$blk"
                same_cast nonce "$addr" --block "$blk"
                same_cast code "$addr" --block "$blk"
            else
                same_cast storage "$addr" "$slot" --block "$blk"
            fi
        done
    done < <(jq -r '[.entries[] | select(.kind == "balance" or .kind == "storage")] | .[0:8][] |
                    "\(.address) \(.slot // "null")"' <<<"$delta")
done
same_cast code "$(jq -r '[.entries[] | select(.kind == "storage")][0].address' <<<"$delta")" --block "$HEAD"
log "cast: $n identical answers"
[ "$n" -ge 100 ] || fail "only $n cast checks"
stop_cantord
echo "clients: ok (ethers $(jq .checked "$TMP/client_check.json") checks, cast $n checks)"
