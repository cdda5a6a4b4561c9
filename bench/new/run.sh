#!/usr/bin/env bash
# bench/new/run.sh: the time from `toil new x` to the first request answered
# by `toil dev` in the new module, with the real CLI and a warm module and
# build cache: what a user waits for between typing the command and seeing
# their service answer.
#
# Each round: toil new x (render, go mod tidy, go-git init and first commit,
# the pre-commit hook), the service's listen port moved to a free one (other
# work on the box may hold 8080), toil dev started in the module, and
# GET /greet/x polled every 5 ms until it answers 200. One untimed round
# first warms the build cache for that template and mixin set.
#
# Usage (from anywhere): bench/new/run.sh [ROUNDS] [--with LIST]
# Prints one line per round: new_ms, dev_to_answer_ms, total_ms.
set -euo pipefail
ROUNDS=${1:-5}
WITH=()
if [ "${2:-}" = "--with" ]; then WITH=(--with "$3"); fi
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
pid=""
cleanup() {
	if [ -n "$pid" ]; then kill -INT "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

(cd "$root" && go build -o "$work/toil" ./cmd/toil)
ms() { echo $(( $(date +%s%N) / 1000000 )); }
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

round() { # dir; sets new_ms dev_ms
	local dir=$1 t0 t1 t2 port
	t0=$(ms)
	"$work/toil" new x --dir "$dir" --module example.com/bench/x --toil-source "$root" "${WITH[@]}" >"$dir.new.log" 2>&1
	port=$(freeport)
	sed -i "s/127.0.0.1:8080/127.0.0.1:$port/" "$dir/toil.yaml"
	t1=$(ms)
	(cd "$dir" && NO_COLOR=1 GOWORK=off exec "$work/toil" dev >"$dir.dev.log" 2>&1) &
	pid=$!
	until curl -fso /dev/null "http://127.0.0.1:$port/greet/x"; do
		if ! kill -0 "$pid" 2>/dev/null; then echo "toil dev exited:"; cat "$dir.dev.log"; exit 1; fi
		if [ $(( $(ms) - t1 )) -gt 180000 ]; then echo "no answer in 3m:"; cat "$dir.dev.log"; exit 1; fi
		sleep 0.005
	done
	t2=$(ms)
	kill -INT "$pid"
	wait "$pid" || true
	pid=""
	new_ms=$((t1 - t0)) dev_ms=$((t2 - t1))
}

round "$work/warm"
printf 'new_ms\tdev_to_answer_ms\ttotal_ms\n'
for i in $(seq "$ROUNDS"); do
	round "$work/x$i"
	printf '%d\t%d\t%d\n' "$new_ms" "$dev_ms" $((new_ms + dev_ms))
done
