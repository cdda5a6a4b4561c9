#!/bin/sh
# bench/http/run.sh: toil's HTTP mixin against net/http's bare hello world
# (and that hello world with the mixin's default timeouts), side by side: ROUNDS alternating wrk runs of DURATION against each, the
# servers pinned to CPU 0 and wrk to CPU 1 (a 2-core box). For each run it
# prints requests/s and the server's CPU time per request (utime+stime from
# /proc/PID/stat over the run, divided by the requests wrk counted): on a
# machine shared with other work requests/s swings with everyone's load,
# while CPU per request is the server's own cost.
# Usage (from the repository root): bench/http/run.sh [ROUNDS] [DURATION]
set -eu
ROUNDS=${1:-5}
DURATION=${2:-10s}
CONNS=${CONNS:-64}
dir=$(mktemp -d)
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT INT TERM

go build -o "$dir/bare" ./bench/http/bare
go build -o "$dir/mixin" ./bench/http/mixin
go build -o "$dir/timeouts" ./bench/http/timeouts

start() { # name port
	PORT=$2 LOG_LEVEL=warn taskset -c 0 "$dir/$1" 2>"$dir/$1.log" &
	pids="$pids $!"
	echo $! >"$dir/$1.pid"
	i=0
	until curl -sf "http://127.0.0.1:$2/" >/dev/null; do
		i=$((i + 1)); [ $i -lt 100 ] || { echo "$1 did not start"; cat "$dir/$1.log"; exit 1; }
		sleep 0.05
	done
}
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; } # utime+stime, in clock ticks
start bare 18081
start mixin 18082
start timeouts 18083
hz=$(getconf CLK_TCK)

echo "# $(date -u +%FT%TZ) $(nproc) cores, $(go version | cut -d' ' -f3), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# wrk -t1 -c$CONNS -d$DURATION, $ROUNDS rounds; columns: round server req/s cpu-us/req"
for r in $(seq "$ROUNDS"); do
	for s in bare:18081 timeouts:18083 mixin:18082; do
		name=${s%:*} port=${s#*:}
		pid=$(cat "$dir/$name.pid")
		t0=$(ticks "$pid")
		taskset -c 1 wrk -t1 -c"$CONNS" -d"$DURATION" "http://127.0.0.1:$port/" >"$dir/wrk.out"
		t1=$(ticks "$pid")
		rps=$(awk '/Requests\/sec/ { print $2 }' "$dir/wrk.out")
		reqs=$(awk '/requests in/ { print $1 }' "$dir/wrk.out")
		us=$(echo "$t0 $t1 $reqs $hz" | awk '{ printf "%.2f", ($2 - $1) / $4 * 1e6 / $3 }')
		echo "round $r $name $rps $us"
		echo "$name $rps $us" >>"$dir/results"
	done
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
median() { # name column
	grep "^$1 " "$dir/results" | cut -d' ' -f"$2" | sort -n |
		awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
br=$(median bare 2) mr=$(median mixin 2) bc=$(median bare 3) mc=$(median mixin 3)
echo "median bare     $br req/s  $bc cpu-us/req"
echo "median timeouts $(median timeouts 2) req/s  $(median timeouts 3) cpu-us/req"
echo "median mixin    $mr req/s  $mc cpu-us/req"
echo "mixin/bare requests/s: $(echo "$mr $br" | awk '{ printf "%.3f", $1 / $2 }')"
echo "mixin/bare capacity (bare cpu/req over mixin cpu/req): $(echo "$bc $mc" | awk '{ printf "%.3f", $1 / $2 }')"
