#!/usr/bin/env bash
# soak.sh - cantord under read load for a bounded time while it follows a live anvil chain.
#
#   bench/soak.sh BUILD_DIR [MINUTES=5] [CONNECTIONS=32]
#
# anvil (devchain --forever --interval 1) keeps mining; cantord follows it with a 64 MiB RocksDB block
# cache; bench_http runs back to back in 60 s rounds (keys re-read from the newest blocks each round)
# until MINUTES are over. Every 10 s cantord's RSS is sampled. Pass when: no error response in any
# round, RSS growth after the first round stays below the block cache + 64 MiB of slack (memtables,
# allocator), the follower kept ingesting, and at the end lib.sh compare finds every touched key of
# every block identical on anvil and cantord (nothing lost). Bounded: MINUTES <= 60.
. "$(dirname "$0")/../tests/integration/lib.sh"
MINUTES=${2:-5}
CONNS=${3:-32}
[[ $MINUTES =~ ^[0-9]+$ ]] && ((MINUTES >= 1 && MINUTES <= 60)) || fail "minutes must be 1..60"
[[ $CONNS =~ ^[0-9]+$ ]] && ((CONNS >= 1 && CONNS <= 256)) || fail "connections must be 1..256"
BENCH=$BUILD/bench/bench_http
[ -x "$BENCH" ] || fail "no $BENCH"
CACHE_MB=64

BLOCKS=${SOAK_BLOCKS:-100}
start_chain --blocks "$BLOCKS" --forever --interval 1 --max-seconds $((MINUTES * 60 + 1200))
start_cantord --set store_cache_size=${CACHE_MB}M
fast_done() { (($(chain_head) >= BLOCKS + 10)); }
wait_for 600 "chain traffic phase" fast_done
wait_synced 300
rss() { awk '/VmRSS/ {print $2}' "/proc/$CANTORD_PID/status"; }
head0=$(cantord_head)
log "soak: ${MINUTES} min, $CONNS connections, cantord at block $head0, RSS $(rss) kB"

(
    while kill -0 "$CANTORD_PID" 2>/dev/null; do
        printf '%s %s %s\n' "$(date +%s)" "$(rss)" "$(cantord_head 2>/dev/null || echo -)"
        sleep 10
    done
) >"$TMP/rss.txt" 2>/dev/null &
SAMPLER=$!

end=$(($(date +%s) + MINUTES * 60))
round=0 errors=0 total=0
while (($(date +%s) < end)); do
    left=$((end - $(date +%s)))
    ((left > 60)) && left=60
    ((left >= 1)) || break
    round=$((round + 1))
    "$BENCH" -c "$CONNS" -d "$left" -n 5000000 "$API" >"$TMP/round.out" 2>&1 || errors=$((errors + 1))
    n=$(awk '/req\/s/ {s += $3} END {print s + 0}' "$TMP/round.out")
    total=$((total + n))
    log "round $round: $(grep -E 'req/s|errors' "$TMP/round.out" | tr -s ' ' | paste -sd'|') RSS $(rss) kB"
    [ "$round" = 1 ] && rss1=$(rss)
done
kill "$SAMPLER" 2>/dev/null || true
wait "$SAMPLER" 2>/dev/null || true
head1=$(cantord_head)

echo "== RSS samples (unix time, kB, cantord head) =="
cat "$TMP/rss.txt"
read -r rss_min rss_max < <(awk '{print $2}' "$TMP/rss.txt" | sort -n | sed -n '1p;$p' | paste -sd' ')
rss_end=$(rss)
growth=$((rss_end - rss1))
echo "soak: $round rounds, $total requests, $errors round(s) with errors; head $head0 -> $head1;" \
    "RSS min $rss_min max $rss_max kB, after round 1 $rss1 kB, end $rss_end kB (growth $growth kB," \
    "limit $(((CACHE_MB + 64) * 1024)) kB)"
((errors == 0)) || fail "error responses during the soak"
((head1 > head0)) || fail "the follower did not ingest during the soak"
((growth <= (CACHE_MB + 64) * 1024)) || fail "RSS grew by $growth kB"

# Nothing lost: every block cantord stored, every touched key, against anvil.
compare 0 "$head1"
stop_cantord
echo "soak: ok"
