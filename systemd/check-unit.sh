#!/bin/sh
# check-unit.sh UNIT CANTORD - meson test (suite 'systemd'): `systemd-analyze verify` on a copy of the
# unit whose ExecStart points at the built binary, and `systemd-analyze security --offline` with an
# exposure threshold of 2.0 (systemd counts in tenths, hence 20). Exit 77 (skip) without systemd-analyze.
set -eu
unit=$1
cantord=$2
command -v systemd-analyze >/dev/null 2>&1 || { echo "systemd-analyze not found: skipping"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s|/usr/sbin/cantord|$cantord|g" "$unit" > "$tmp/cantord.service"
echo "== systemd-analyze verify"
out=$(systemd-analyze verify "$tmp/cantord.service" 2>&1) || { echo "$out"; exit 1; }
# verify warns without failing on some problems; any line mentioning our unit is one.
if printf '%s\n' "$out" | grep -q 'cantord.service'; then
    echo "$out"
    exit 1
fi
echo "== systemd-analyze security --offline=yes --threshold=20"
systemd-analyze security --offline=yes --threshold=20 "$tmp/cantord.service" | tail -n 1
