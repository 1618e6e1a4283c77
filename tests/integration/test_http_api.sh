#!/usr/bin/env bash
# A real cantord following a real anvil chain, probed over real HTTP with curl: every endpoint of
# docs/api.md, checked against anvil where a value can be checked; bearer-token auth (token file
# 0600, a 0644 file refused at start, public_reads=false); bad input (400 + JSON error envelope),
# body over http_max_body (413), unknown route (404), wrong method (405); SIGHUP reload of
# public_reads and log_level from the config file.
. "$(dirname "$0")/lib.sh"

PASS=0
ok() { PASS=$((PASS + 1)); }

# call METHOD PATH [curl args...] : sets CODE and BODY (never fails on an HTTP error status).
call() {
    local m=$1 p=$2
    shift 2
    BODY=$(curl -s -o - -w '\n%{http_code}' -X "$m" "$@" "$API$p") || fail "curl $m $p: transport error"
    CODE=${BODY##*$'\n'}
    BODY=${BODY%$'\n'*}
}

# expect STATUS METHOD PATH [curl args...] : the status must match; an error status must come with
# the envelope {"error":{"code":STATUS,"message":"<non-empty>"}}.
expect() {
    local want=$1
    shift
    call "$@"
    [ "$CODE" = "$want" ] || fail "$1 $2: HTTP $CODE, want $want; body: ${BODY:0:300}"
    if [ "$want" -ge 400 ]; then
        jq -e --argjson c "$want" '(.error.code == $c) and (.error.message | type == "string" and length > 0)' \
            <<<"$BODY" >/dev/null 2>&1 || fail "$1 $2: HTTP $want without the JSON error envelope: ${BODY:0:300}"
    fi
    ok
}

# check [jq args...] JQ-EXPR : BODY must satisfy the jq expression (the last argument).
check() {
    jq -e "$@" <<<"$BODY" >/dev/null 2>&1 || fail "body fails '${*: -1}': ${BODY:0:400}"
    ok
}

# rpc_raw URL JSON : prints the raw JSON-RPC answer (for comparing cantord with anvil).
rpc_raw() { curl -sf -X POST -H 'Content-Type: application/json' --data "$2" "$1" "${@:3}"; }

# ---------------------------------------------------------------------------------------------
start_chain --blocks 40 --hold --max-seconds 900
TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s\n' "$TOKEN" >"$TMP/token"
chmod 600 "$TMP/token"

# A token file readable by others: cantord must refuse to start and say why.
cp "$TMP/token" "$TMP/token644"
chmod 644 "$TMP/token644"
rc=0
timeout 30 "$CANTORD" --eth-rpc "$CHAIN_URL" --data-dir "$TMP/data644" --listen "127.0.0.1:$(free_port)" \
    --set admin_token_file="$TMP/token644" >"$TMP/refuse.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "cantord started with a 0644 token file (rc $rc)"
grep -q "readable by others" "$TMP/refuse.out" || fail "no clear message for a 0644 token file: $(cat "$TMP/refuse.out")"
ok
log "0644 token file refused (exit $rc): $(grep -m1 'readable by others' "$TMP/refuse.out")"

# Reloadable options live in the config file (flags would override the file on reload).
CONF=$TMP/cantord.conf
write_conf() {
    cat >"$CONF" <<EOF
admin_token_file = $TMP/token
public_reads = $1
log_level = $2
http_max_body = 64K
EOF
}
write_conf true info
start_cantord --config "$CONF"
wait_chain_done 300
wait_synced 180
HEAD=$(chain_head)
log "chain head $HEAD, cantord in sync"

# ---- operational ----
expect 200 GET /healthz
check '.status == "ok" and (.uptimeSeconds | type == "number")'
wait_for 30 "readyz 200" bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' $API/readyz)\" = 200 ]"
expect 200 GET /readyz
check --argjson h "$HEAD" '.ready == true and .storeHead == $h and .lag == 0 and (.reasons | length == 0)'
expect 200 GET /metrics
grep -q "^cantor_store_head $HEAD\$" <<<"$BODY" || fail "metrics: cantor_store_head is not $HEAD"
grep -q '^cantor_http_request_duration_seconds_bucket{le="+Inf"} [1-9]' <<<"$BODY" ||
    fail "metrics: no request latency histogram"
grep -q '^# TYPE cantor_http_request_duration_seconds histogram' <<<"$BODY" || fail "metrics: histogram TYPE"
for m in cantor_lag_blocks cantor_blocks_per_second cantor_rpc_errors_total cantor_store_bytes \
    cantor_compression_ratio cantor_model_info cantor_training_loss; do
    grep -q "^$m" <<<"$BODY" || fail "metrics: $m missing"
done
ok
expect 200 GET /v1/status
check --argjson h "$HEAD" '.chainId == 31337 and .store.head == $h and .store.empty == false and
    .follower.synced == true and .store.blocks == $h + 1'

# ---- blocks: header fields must be anvil's ----
for b in 0 1 7 $((HEAD / 2)) "$HEAD"; do
    want=$(rpc "$CHAIN_URL" eth_getBlockByNumber "[\"$(printf '0x%x' "$b")\",false]")
    expect 200 GET "/v1/blocks/$b"
    ts=$(($(jq -r .timestamp <<<"$want")))
    check --argjson w "$want" --argjson b "$b" --argjson ts "$ts" '.number == $b and .hash == $w.hash and
        .parentHash == $w.parentHash and .stateRoot == $w.stateRoot and .timestamp == $ts'
done
expect 200 GET "/v1/blocks/$(printf '0x%x' 7)"
check '.number == 7'
expect 200 GET "/v1/blocks/latest"
check --argjson h "$HEAD" '.number == $h'
expect 200 GET "/v1/blocks/12/delta"
check '.number == 12 and .count == (.entries | length) and .count > 0 and
    (.entries | all(.address | test("^0x[0-9a-f]{40}$")))'
DELTA=$BODY
expect 200 GET "/v1/blocks/12"
check --argjson d "$DELTA" '.entries == $d.count'

# ---- state and storage: values must be anvil's at that block ----
read -r A S < <(jq -r '[.entries[] | select(.kind == "storage")][0] | "\(.address) \(.slot)"' <<<"$DELTA")
[ -n "$A" ] && [ "$A" != null ] || fail "block 12 has no storage entry"
for b in 12 20 "$HEAD"; do
    q=$(printf '0x%x' "$b")
    bal=$(rpc "$CHAIN_URL" eth_getBalance "[\"$A\",\"$q\"]" | jq -r .)
    val=$(rpc "$CHAIN_URL" eth_getStorageAt "[\"$A\",\"$S\",\"$q\"]" | jq -r .)
    expect 200 GET "/v1/state/$A?block=$b"
    check --arg bal "$bal" --argjson b "$b" '.block == $b and .known.balance == true and .balance == $bal and
        .known.code == true and .codeSize > 0'
    expect 200 GET "/v1/state/$A/storage/$S?block=$b"
    check --arg v "$val" '.value == $v and .known == true'
done
expect 200 GET "/v1/state/$A"
check --argjson h "$HEAD" '.block == $h'
# A key that never changed has no known value: 404 with known=false, never a made-up 0.
expect 404 GET "/v1/state/$A/storage/0x00000000000000000000000000000000000000000000000000000000deadbeef?block=12"
check '.known == false'
expect 404 GET "/v1/blocks/$((HEAD + 1000))"
expect 200 GET "/v1/chunks/12"
expect 404 GET "/v1/chunks/$((HEAD + 1000))"

# ---- history, walked one change per page, must equal one big page and anvil's values ----
expect 200 GET "/v1/history/$A/storage/$S?limit=1000"
ALL=$(jq -c '[.changes[].block]' <<<"$BODY")
check '.next == null and (.changes | length) >= 1 and ([.changes[].block] == ([.changes[].block] | sort))'
paged='[]'
from=0
for ((i = 0; i < 1000; i++)); do
    expect 200 GET "/v1/history/$A/storage/$S?from=$from&limit=1"
    check '(.changes | length) <= 1'
    paged=$(jq -c --argjson p "$paged" '$p + [.changes[].block]' <<<"$BODY")
    n=$(jq -r .next <<<"$BODY")
    [ "$n" = null ] && break
    [ "$n" -gt "$from" ] || fail "history: next $n does not advance past $from"
    from=$n
done
[ "$paged" = "$ALL" ] || fail "history pages $paged != one page $ALL"
for blk in $(jq -r '.[]' <<<"$ALL" | head -5); do
    want=$(rpc "$CHAIN_URL" eth_getStorageAt "[\"$A\",\"$S\",\"$(printf '0x%x' "$blk")\"]" | jq -r .)
    expect 200 GET "/v1/history/$A/storage/$S?from=$blk&limit=1"
    check --arg v "$want" --argjson b "$blk" '.changes[0].block == $b and .changes[0].value == $v'
done
log "history of $A/$S: $(jq length <<<"$ALL") changes, paged walk identical"
expect 200 GET "/v1/history/$A?kind=nonce&limit=1000"
check '.kind == "nonce"'

# ---- /rpc single and batch: answers identical to anvil's ----
q=$(printf '0x%x' 20)
for call_json in \
    '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' \
    '{"jsonrpc":"2.0","id":"x","method":"eth_blockNumber","params":[]}' \
    "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"eth_getBalance\",\"params\":[\"$A\",\"$q\"]}" \
    "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"eth_getTransactionCount\",\"params\":[\"$A\",\"$q\"]}" \
    "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"eth_getCode\",\"params\":[\"$A\",\"$q\"]}" \
    "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"eth_getStorageAt\",\"params\":[\"$A\",\"$S\",\"$q\"]}"; do
    a=$(rpc_raw "$CHAIN_URL" "$call_json" | jq -cS '{id, result}')
    c=$(rpc_raw "$API/rpc" "$call_json" | jq -cS '{id, result}')
    [ "$a" = "$c" ] && [ "$(jq -r .result <<<"$c")" != null ] || fail "rpc $call_json: anvil $a, cantord ${c:0:300}"
    ok
done
batch="[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_getStorageAt\",\"params\":[\"$A\",\"$S\",\"0xc\"]},
 {\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"eth_getBalance\",\"params\":[\"$A\",\"latest\"]},
 {\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"eth_chainId\",\"params\":[]}]"
a=$(rpc_raw "$CHAIN_URL" "$batch" | jq -cS 'map({id, result}) | sort_by(.id)')
c=$(rpc_raw "$API/rpc" "$batch" | jq -cS 'map({id, result}) | sort_by(.id)')
[ "$a" = "$c" ] && [ "$(jq length <<<"$c")" = 3 ] || fail "rpc batch: anvil $a, cantord $c"
ok
expect 200 POST /rpc -H 'Content-Type: application/json' --data '{"jsonrpc":"2.0","id":9,"method":"eth_sendRawTransaction","params":["0x00"]}'
check '.id == 9 and .error.code == -32601'
expect 200 POST /rpc --data "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"eth_getBalance\",\"params\":[\"$A\",\"0x$(printf '%x' $((HEAD + 100)))\"]}"
check '.error.code == -32000 and (.error.message | test("header not found"))'
# JSON-RPC keeps HTTP 200 for its own errors (like geth): malformed JSON, wrong types, huge numbers.
expect 200 POST /rpc --data '{"jsonrpc":"2.0","id":1,"method":'
check '.id == null and .error.code == -32700'
expect 200 POST /rpc --data '{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":[1,"latest"]}'
check '.error.code == -32602'
expect 200 POST /rpc --data "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_getBalance\",\"params\":[\"$A\",\"0x10000000000000000\"]}"
check '.error.code == -32602'
expect 200 POST /rpc --data '[]'
check '.error.code == -32600'

# ---- admin: checkpoint ----
expect 401 POST /v1/admin/checkpoint
expect 401 POST /v1/admin/checkpoint -H "Authorization: Bearer wrong$TOKEN"
expect 401 POST /v1/admin/checkpoint -H "Authorization: Bearer ${TOKEN:0:47}"
expect 401 POST /v1/admin/checkpoint -H "Authorization: Basic $TOKEN"
expect 400 POST /v1/admin/checkpoint -H "Authorization: Bearer $TOKEN" --data '{"oops'
expect 400 POST /v1/admin/checkpoint -H "Authorization: Bearer $TOKEN" --data '[1,2]'
expect 400 POST /v1/admin/checkpoint -H "Authorization: Bearer $TOKEN" --data '{"unknown_field":1}'
expect 200 POST /v1/admin/checkpoint -H "Authorization: Bearer $TOKEN" --data '{}'
cp_path=$(jq -r .path <<<"$BODY")
[ -f "$cp_path/CURRENT" ] && ls "$cp_path"/*.sst >/dev/null 2>&1 || fail "checkpoint $cp_path is not a RocksDB dir"
ok
expect 200 POST /v1/admin/checkpoint -H "Authorization: Bearer $TOKEN"
[ "$(jq -r .path <<<"$BODY")" != "$cp_path" ] || fail "two checkpoints share a path"
ok

# ---- bad input: 400 + envelope ----
ZS=0x0000000000000000000000000000000000000000000000000000000000000000
for p in "/v1/state/0xzz" "/v1/state/0x$(printf 'g%.0s' {1..40})" "/v1/state/${A#0x}" "/v1/state/${A}00" \
    "/v1/state/$A?block=abc" "/v1/state/$A?block=-1" "/v1/state/$A?block=012" "/v1/state/$A?block=0x" \
    "/v1/state/$A?block=18446744073709551616" "/v1/state/$A?block=99999999999999999999999999999" \
    "/v1/state/$A?block=0x10000000000000000" "/v1/state/$A?block=1&foo=1" "/v1/state/$A?block=1&block=2" \
    "/v1/state/$A/storage/0x0" "/v1/state/$A/storage/${ZS}0" "/v1/state/$A/storage/0x$(printf 'z%.0s' {1..64})" \
    "/v1/blocks/abc" "/v1/blocks/1.5" "/v1/blocks/99999999999999999999999" "/v1/blocks/12/delta?x=1" \
    "/v1/chunks/abc" "/v1/chunks/-1" "/v1/chunks/12?x=1" \
    "/v1/history/$A" "/v1/history/$A?kind=weird" "/v1/history/$A?kind=nonce&limit=0" \
    "/v1/history/$A?kind=nonce&limit=1001" "/v1/history/$A?kind=nonce&limit=x" \
    "/v1/history/$A/storage/$S?from=-3" "/v1/history/$A/storage/$S?page=2" "/v1/status?verbose=1"; do
    expect 400 GET "$p"
done

# ---- limits, routes, methods ----
head -c $((64 * 1024 + 1)) /dev/zero | tr '\0' ' ' >"$TMP/big"
expect 413 POST /rpc --data-binary @"$TMP/big"
expect 413 POST /v1/admin/checkpoint -H "Authorization: Bearer $TOKEN" --data-binary @"$TMP/big"
head -c $((60 * 1024)) /dev/zero | tr '\0' ' ' >"$TMP/ok"
printf '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' >>"$TMP/ok"
expect 200 POST /rpc --data-binary @"$TMP/ok"
check '.result == "0x7a69"'
for p in /nope /v1 /v1/blocks /v1/state /v1/blocks/1/delta/x /rpc/x /v1/admin/nope; do
    expect 404 GET "$p"
done
expect 405 DELETE /v1/status
expect 405 POST /healthz
expect 405 GET /rpc
expect 405 PUT "/v1/state/$A"
expect 405 GET /v1/admin/checkpoint -H "Authorization: Bearer $TOKEN"

# ---- SIGHUP: public_reads=false, log_level=debug ----
rpc "$CHAIN_URL" evm_mine '[]' >/dev/null
wait_synced 60
grep -q "applied block" "$TMP/cantord.log" && fail "debug lines at log_level=info"
write_conf false debug
kill -HUP "$CANTORD_PID"
wait_for 10 "reload logged" grep -q "reload: public_reads: true -> false" "$TMP/cantord.log"
grep -q "reload: log_level: info -> debug" "$TMP/cantord.log" || fail "log_level change not logged"
ok
wait_for 10 "reads to need the token" bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' $API/v1/status)\" = 401 ]"
expect 401 GET "/v1/state/$A?block=12"
expect 401 GET "/v1/blocks/12"
expect 401 GET "/v1/history/$A/storage/$S"
expect 401 POST /rpc --data '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}'
expect 401 GET "/v1/state/$A?block=12" -H "Authorization: Bearer nope"
expect 200 GET "/v1/state/$A?block=12" -H "Authorization: Bearer $TOKEN"
expect 200 POST /rpc -H "Authorization: Bearer $TOKEN" --data '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}'
check '.result == "0x7a69"'
expect 200 GET /healthz
expect 200 GET /metrics
rpc "$CHAIN_URL" evm_mine '[]' >/dev/null
wait_for 30 "a debug line after log_level=debug" grep -q "applied block $((HEAD + 2))" "$TMP/cantord.log"
ok
write_conf true info
kill -HUP "$CANTORD_PID"
wait_for 10 "public reads again" bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' $API/v1/status)\" = 200 ]"
expect 200 GET "/v1/state/$A?block=12"
# A reload that would make the token file unsafe keeps cantord running with the old token.
chmod 644 "$TMP/token"
kill -HUP "$CANTORD_PID"
sleep 1
expect 200 GET /healthz
chmod 600 "$TMP/token"

stop_cantord
echo "http-api: ok ($PASS checks)"
