#!/usr/bin/env bash
# cantord follows a live anvil chain while real traffic runs (ERC-20, WETH, Uniswap V2, deployments,
# ETH transfers) including reorgs; then every touched account and slot of every block must read the
# same from cantord's /rpc as from anvil: 100% match.
. "$(dirname "$0")/lib.sh"

start_chain --blocks 200 --reorgs 3 --hold --max-seconds 900
start_cantord
wait_chain_done 300
wait_synced 180
head=$(chain_head)
reorgs=$(grep -c '"event":"reorg"' "$TMP/chain.log" || true)
log "chain head $head after $reorgs reorg(s); cantord in sync"
status=$(curl -sf "$API/v1/status")
python3 - "$status" "$reorgs" <<'PY' || fail "status does not show the reorgs"
import json, sys
s = json.loads(sys.argv[1]); want = int(sys.argv[2])
seen = s.get("follower", s).get("reorgs", 0)
print(f"cantord saw {seen} reorg event(s) (chain made {want})")
sys.exit(0 if want < 2 or seen >= 2 else 1)
PY
compare 0 "$head"
stop_cantord
echo "follow-anvil: ok"
