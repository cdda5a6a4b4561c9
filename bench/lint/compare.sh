#!/bin/sh
# compare.sh OLD NEW DIR ROUNDS: runs `toil lint ./...` in DIR with two toil
# binaries, interleaved (OLD, NEW, OLD, NEW, ...) so that both see the same
# load, ROUNDS times each: without the cache (--no-cache's TOIL_LINT_CACHE=off,
# which OLD may predate), cold (a new, empty cache directory) and, for NEW,
# warm (the same directory again). Prints wall, CPU and peak RSS per run
# (GNU /usr/bin/time) and the load average after each pair.
set -eu
old=$1
new=$2
dir=$3
rounds=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$dir"
export GOWORK=off
fmt="wall %e s user %U s sys %S s maxrss %M KB"
i=1
while [ "$i" -le "$rounds" ]; do
	for which in old new; do
		if [ "$which" = old ]; then bin=$old; else bin=$new; fi
		TOIL_LINT_CACHE=off /usr/bin/time -f "$which nocache $i: $fmt" -o "$tmp/t" "$bin" lint ./... >/dev/null 2>&1 || true
		tail -n 1 "$tmp/t"
		cache=$(mktemp -d "$tmp/cache.XXXXXX")
		TOIL_LINT_CACHE=$cache /usr/bin/time -f "$which cold $i: $fmt" -o "$tmp/t" "$bin" lint ./... >/dev/null 2>&1 || true
		tail -n 1 "$tmp/t"
		if [ "$which" = new ]; then
			TOIL_LINT_CACHE=$cache /usr/bin/time -f "$which warm $i: $fmt" -o "$tmp/t" "$bin" lint ./... >/dev/null 2>&1 || true
			tail -n 1 "$tmp/t"
		fi
		rm -rf "$cache"
	done
	echo "   load $(cut -d' ' -f1-3 /proc/loadavg)"
	i=$((i + 1))
done
