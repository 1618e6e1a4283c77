#!/usr/bin/env bash
# cantord follows a live anvil chain while real traffic runs (ERC-20, WETH, Uniswap V2, deployments,
# ETH transfers) including reorgs; then every touched account and slot of every block must read the
# same from cantord's /rpc as from anvil: 100% match.
. "$(dirname "$0")/lib.sh"

start_chain --blocks 200 --reorgs 3 --hold --max-seconds 900
start_cantord
wait_chain_done 300
wait_synced 180
reorgs=$(grep -c '"event":"reorg"' "$TMP/chain.log" || true)
seen=$(cantord_reorgs)
log "chain made $reorgs reorg(s) during traffic; cantord saw $seen of them while following"
# Two more reorgs that cantord is guaranteed to have followed into.
reorg_now 2
reorg_now 3
after=$(cantord_reorgs)
[ "$after" -ge $((seen + 2)) ] || fail "cantord reports $after reorgs, expected at least $((seen + 2))"
log "controlled reorgs followed: cantord now reports $after reorg(s)"
head=$(chain_head)
compare 0 "$head"
stop_cantord
echo "follow-anvil: ok"
