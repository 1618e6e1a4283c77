#!/usr/bin/env bash
# Self-test of the test chain: a short deterministic run with reorgs, then compare.mjs anvil-vs-anvil
# with both key sources, and a negative check (a different seed must mismatch). Loopback only;
# every process started here is stopped by pid; every wait is bounded.
set -euo pipefail
cd "$(dirname "$0")"
[ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error
free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
start() { # port seed
    node devchain.mjs --port "$1" --seed "$2" --blocks 40 --reorgs 2 --hold --max-seconds 600 >"$work/$1.jsonl" 2>"$work/$1.err" &
    pids+=($!)
}
wait_done() {
    for _ in $(seq 1 240); do
        grep -q '"event":"done"' "$work/$1.jsonl" && return 0
        grep -q '"event":"error"' "$work/$1.jsonl" && break
        sleep 0.5
    done
    echo "devchain on $1 did not finish:"; cat "$work/$1.jsonl" "$work/$1.err" | tail -5; return 1
}
p1=$(free_port); start "$p1" 7
p2=$(free_port); while [ "$p2" = "$p1" ]; do p2=$(free_port); done; start "$p2" 8
wait_done "$p1"; wait_done "$p2"
head=$(grep '"event":"done"' "$work/$p1.jsonl" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).blocks))')
pass=0; fail=0
check() { # name expected-rc cmd...
    local name=$1 want=$2; shift 2
    set +e; out=$("$@"); rc=$?; set -e
    if [ "$rc" = "$want" ]; then pass=$((pass + 1)); echo "ok   $name: ${out:0:200}"; else fail=$((fail + 1)); echo "FAIL $name (rc=$rc): ${out:0:400}"; fi
}
check "reorgs reported" 0 grep -c '"event":"reorg"' "$work/$p1.jsonl"
check "no unexpected reverts" 0 grep -q '"unexpectedReverts":0' "$work/$p1.jsonl"
check "compare prestate self" 0 node compare.mjs --anvil "http://127.0.0.1:$p1" --cantord "http://127.0.0.1:$p1" --from 1 --to "$head"
check "compare trace self" 0 node compare.mjs --anvil "http://127.0.0.1:$p1" --cantord "http://127.0.0.1:$p1" --from 1 --to "$head" --source trace
check "compare other seed mismatches" 1 node compare.mjs --anvil "http://127.0.0.1:$p1" --cantord "http://127.0.0.1:$p2" --from 1 --to 12 --max-report 1
echo "chain-selftest: $pass passed, $fail failed"
[ "$fail" = 0 ]
