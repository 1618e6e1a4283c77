#!/usr/bin/env bash
# Lower layers never include higher ones: core < storage < ml < rpc < daemon.
# Fails (exit 1) naming every offending #include.
set -u
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
layers=(core storage ml rpc daemon)
bad=0
for i in "${!layers[@]}"; do
    low=${layers[$i]}
    for j in "${!layers[@]}"; do
        [ "$j" -gt "$i" ] || continue
        high=${layers[$j]}
        if hits=$(grep -rnE "^[[:space:]]*#[[:space:]]*include[[:space:]]+\"$high/" "$root/$low" --include='*.[ch]'); then
            echo "layering: $low/ must not include $high/:"
            echo "$hits"
            bad=1
        fi
    done
done
[ "$bad" = 0 ] && echo "layering: ok"
exit $bad
