#!/usr/bin/env bash
# cantord proofs verified by a real EVM: anvil chain + cantord following it; CantorVerifier.sol is
# deployed on the same anvil with the trusted secp256k1 checkpoint signer (GET /v1/checkpoint/keys).
# Real proofs from cantord (GET /v1/proofs/delta/..., /v1/proofs/state/..., JSON and ?format=abi) must
# pass verifyDelta/verifyState via eth_call, the ?format=abi bytes must equal the JSON document's ABI
# encoding, and every tampered copy (value, path, block number, signature, ...) must revert with the
# error naming the check; one real tx per proof shape measures gas. @openzeppelin/merkle-tree's
# StandardMerkleTree root over GET /v1/blocks/{n}/delta must equal the deltaRoot cantord proves against.
# Then the same on core/proof.c documents over recorded mainnet blocks (verifier_proofgen: absence
# proofs of both kinds; core/merkle.c vs OZ on anvil blocks) and on a value 2^20 blocks back
# (bench_proofs --dump: 20 MMR siblings).
. "$(dirname "$0")/lib.sh"

PROOFGEN=$BUILD/tests/integration/verifier_proofgen
[ -x "$PROOFGEN" ] || fail "no verifier_proofgen at $PROOFGEN"
DATA=${CANTOR_SHARED_DATA:-$ROOT/../shared/data}
[ -d "$DATA" ] || fail "no shared data at $DATA"

# run_verifier NAME PROOFS_DIR SIGNER ARGS... : verifier_test.mjs, output in $TMP/NAME.out, summary checked.
run_verifier() {
    local name=$1 dir=$2 signer=$3 src=()
    shift 3
    [ "$dir" = - ] || src=(--signer "$signer" --proofs-dir "$dir")
    (cd "$CHAIN" && node verifier_test.mjs --rpc "$CHAIN_URL" "${src[@]}" --gas-out "$TMP/$name-gas.json" "$@") >"$TMP/$name.out" 2>"$TMP/$name.log" || {
        cat "$TMP/$name.out" >&2
        fail "verifier_test.mjs ($name) failed"
    }
    python3 - "$TMP/$name.out" "$name" <<'PY' || fail "verifier summary check failed ($name)"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
done, name = ev[-1], sys.argv[2]
for e in ev:
    if e["event"] == "gas":
        ex = e["executionGas"] if e["executionGas"] is not None else f"<={e['executionGasAtMost']} (calldata floor)"
        print(f"[{name}] gas {e['shape']}: tx {e['txGas']}, execution {ex}, calldata {e['calldataBytes']} B, "
              f"MMR siblings {e['mmrSiblings']}, tree path {e['pathLength']}")
    elif e["event"] == "gas-range":
        print(f"[{name}] gas {e['shape']} over {e['documents']} proofs: {e['minGas']}-{e['maxGas']} "
              f"(tree path {e['minPath']}-{e['maxPath']})")
    elif e["event"] == "crosscheck":
        what = "proven deltaRoot" if e.get("source") == "proof" else "core/merkle.c root"
        print(f"[{name}] OZ StandardMerkleTree root == cantord {what}, anvil block {e['block']} "
              f"({e['entries']} entries): {e['match']}")
print(f"[{name}] {done['documents']} documents, {done['passed']} passed, {done['reverted']} tampered copies "
      f"reverted as expected, OZ cross-check on {done['crosschecked']} anvil blocks, {done['failures']} failures")
ok = done["event"] == "done" and done["failures"] == 0 and done["passed"] == done["documents"] > 0 \
    and done["reverted"] > 0
sys.exit(0 if ok else 1)
PY
}

start_chain --blocks 40 --hold --max-seconds 900
start_cantord
wait_chain_done 300
wait_synced 180
log "cantord in sync at block $(chain_head)"

# Real proofs from this cantord for 5 followed blocks.
run_verifier cantord - - --cantord "$API" --cantord-proofs 5
python3 -c 'import json,sys; d=json.loads(open(sys.argv[1]).read().splitlines()[-1]); sys.exit(d["crosschecked"] < 3 or d["documents"] < 10)' \
    "$TMP/cantord.out" || fail "fewer than 3 blocks / 10 proofs from cantord"

mkdir -p "$TMP/proofs"
"$PROOFGEN" "$DATA" "$TMP/proofs" >"$TMP/proofgen.log" 2>&1 || fail "verifier_proofgen failed"

# Three recorded mainnet blocks, absence proofs of both kinds, plus the anvil OZ cross-check.
run_verifier recorded "$TMP/proofs" "$(cat "$TMP/proofs/signer")" --cantord "$API" \
    --delta-root-cmd "$PROOFGEN --delta-root" --crosscheck 5
python3 -c 'import json,sys; d=json.loads(open(sys.argv[1]).read().splitlines()[-1]); sys.exit(d["crosschecked"] < 3)' \
    "$TMP/recorded.out" || fail "OZ cross-check covered fewer than 3 anvil blocks"

# A value 1,048,575 blocks old (MMR of 2^20 leaves: 20 siblings), from bench_proofs --dump.
BENCH=$BUILD/bench/bench_proofs
if [ -x "$BENCH" ]; then
    mkdir -p "$TMP/deep"
    CANTOR_SHARED_DATA=$DATA "$BENCH" --dump "$TMP/deep" >"$TMP/bench.log" 2>&1 || fail "bench_proofs --dump failed"
    deep_signer=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["checkpoint"]["signer"])' \
        "$TMP/deep/delta-proof.json")
    run_verifier deep "$TMP/deep" "$deep_signer" --min-absent 0
else
    log "no $BENCH: skipping the 2^20-leaf MMR proofs"
fi

stop_cantord
echo "verifier: ok"
