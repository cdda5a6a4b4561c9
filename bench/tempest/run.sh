#!/bin/sh
# bench/tempest/run.sh: tempest's web under `toil dev`, side by side with a
# bare net/http hello world, in one run:
#
#   1. pipeline throughput: ads/s from inventory to slates in Redis, per cycle
#      (bench/tempest/pipeline reads tempest:cycle and tempest:pushed);
#   2. ROUNDS rounds, each: the hello world (bench/http/bare), web direct
#      (its shared socket, the 4 workers behind it) and web through toil
#      dev's proxy; each first at its maximum rate (load -c CONNS), then an
#      open loop at half of that maximum, for p99 at half load;
#   3. the three at fixed rates (RATES, requests/s), for p99 at equal load;
#   4. wrk, when installed, as a second opinion on each maximum;
#   5. RSS: each web worker's peak during the maximum-rate runs, and the sum
#      over toil dev and every process under it (the whole layout: 16 + 2 + 2
#      + 4 workers and the rest, the embedded NATS inside toil, redis-server),
#      then by process after the run, and Redis's memory by key kind;
#   and the CPU per request of the web workers, toil (the proxy) and the
#   bare server during each maximum-rate run.
#
# The layout is tempest/toil.yaml as it is in the work tree, run from a copy of the work
# tree with its ports moved up by 10000 (8000 -> 18000, 8081 -> 18081,
# 8090 -> 18090), so it runs beside a `toil dev` someone has on the real ports.
# Everything runs on this machine, load generator included, on 127.0.0.1.
#
# Usage (from the repository root; needs redis-server and jq):
#   bench/tempest/run.sh [ROUNDS] [DURATION]
set -eu
ROUNDS=${1:-3}
DURATION=${2:-10s}
CONNS=${CONNS:-64}
CAMPAIGNS=${CAMPAIGNS:-2000}
RATES=${RATES:-2000 5000 10000}
# PIN=1: the servers (the whole layout under toil dev, and the bare hello
# world) on CPU 0, the load generator on CPU 1, so the client does not take
# the servers' cores; without it everything shares both.
PIN=${PIN:-0}
dir=$(mktemp -d)
devpid=""
barepid=""
cleanup() {
	if [ -n "$devpid" ]; then
		kill -TERM "$devpid" 2>/dev/null || true
		wait "$devpid" 2>/dev/null || true
	fi
	if [ -n "$barepid" ]; then
		kill "$barepid" 2>/dev/null || true
		wait "$barepid" 2>/dev/null || true
	fi
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

go build -o "$dir/toil" ./cmd/toil
go build -o "$dir/load" ./bench/tempest/load
go build -o "$dir/pipeline" ./bench/tempest/pipeline
go build -o "$dir/bare" ./bench/http/bare

# The work tree as it is (tracked and new files, not ignored ones).
mkdir "$dir/src"
git ls-files -co --exclude-standard -z | tar --null -T - -cf - | tar -C "$dir/src" -xf -
sed -i -e 's/127\.0\.0\.1:8000/127.0.0.1:18000/; s/127\.0\.0\.1:8081/127.0.0.1:18081/; s/127\.0\.0\.1:8090/127.0.0.1:18090/' \
	"$dir/src/tempest/toil.yaml"
# The hello world behind the same proxy too (4 workers, as web has, each on
# its own port, which the proxy reaches directly): the ceiling for web
# through the proxy, the proxy's own cost counted on both sides.
sed -i -e '/^services:/a\
  hello: {main: github.com/toilhq/toil/bench/http/bare, procs: 4, listen: auto}' \
	-e 's|routes: \[{path: /, to: web}\]|routes: [{path: /, to: web}, {path: /hello, to: hello}]|' \
	"$dir/src/tempest/toil.yaml"
grep -q 'to: hello' "$dir/src/tempest/toil.yaml" || { echo "could not add the hello route to the layout copy"; exit 1; }

# Workers inherit toil dev's environment: the warmers find the moved
# inventory, and the inventory serves CAMPAIGNS campaigns.
TOIL_WARMER_INVENTORY=http://127.0.0.1:18090 \
	TOIL_INVENTORY_CAMPAIGNS=$CAMPAIGNS \
	LOG_LEVEL=warn NO_COLOR=1 "$dir/toil" -C "$dir/src/tempest" dev >"$dir/dev.log" 2>&1 &
devpid=$!
PORT=18180 "$dir/bare" 2>"$dir/bare.log" &
barepid=$!

status() { "$dir/toil" -C "$dir/src/tempest" dev status --json 2>/dev/null || true; }
i=0
until curl -sf http://127.0.0.1:18000/placements 2>/dev/null | grep -q '"cycle"'; do
	i=$((i + 1))
	if [ $i -ge 600 ] || ! kill -0 "$devpid" 2>/dev/null; then
		echo "toil dev never served /placements"; tail -50 "$dir/dev.log"; exit 1
	fi
	sleep 0.5
done
until curl -sf http://127.0.0.1:18180/ >/dev/null; do sleep 0.1; done
i=0
until curl -sf http://127.0.0.1:18000/hello >/dev/null; do
	i=$((i + 1))
	if [ $i -ge 1200 ]; then echo "the hello world never answered through the proxy"; tail -50 "$dir/dev.log"; exit 1; fi
	sleep 0.1
done

client=""
if [ "$PIN" = 1 ]; then
	# Every process of the layout and the bare server to CPU 0 (all their
	# threads, -a), the client to CPU 1.
	for p in $devpid $barepid $(ps -e -o pid=,ppid= | awk -v root="$devpid" '
		{ parent[$1] = $2 }
		END { for (p in parent) { q = p; while (q != "" && q != 0 && q != root) q = parent[q]; if (q == root) print p } }'); do
		taskset -a -p -c 0 "$p" >/dev/null 2>&1 || true
	done
	client="taskset -c 1"
fi
redis=$(status | jq -r '.backing[] | select(.name == "redis") | .addr')
webpids=$(status | jq -r '.services[] | select(.name == "web") | .workers[].pid')
urls=$(curl -sf http://127.0.0.1:18000/placements | jq -r '.placements[].id' |
	awk '{ printf "http://127.0.0.1:PORT/ads?placement=%s&n=3\n", $1 }')
direct=$(echo "$urls" | sed 's/PORT/18081/')
proxied=$(echo "$urls" | sed 's/PORT/18000/')

# rss_tree: the RSS in KiB of $1 and every process under it.
rss_tree() {
	ps -e -o pid=,ppid=,rss= | awk -v root="$1" '
		{ parent[$1] = $2; rss[$1] = $3 }
		END {
			for (p in rss) {
				q = p
				while (q != "" && q != 0 && q != root) q = parent[q]
				if (q == root) sum += rss[p]
			}
			print sum
		}'
}
# ticks: utime+stime of the given pids, in clock ticks.
ticks() { for p in "$@"; do awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0; done | awk '{ s += $1 } END { print s + 0 }'; }
hz=$(getconf CLK_TCK)
rss_of() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# sample_rss FILE: every 200ms until killed, one line "pid rss" per web
# worker, plus "layout rss" for the whole tree.
sample_rss() {
	while :; do
		for p in $webpids; do echo "$p $(rss_of "$p")"; done
		echo "layout $(rss_tree "$devpid")"
		sleep 0.2
	done >>"$1"
}

echo "# PIN=$PIN (1: servers on CPU 0, the load generator on CPU 1)"
echo "# $(date -u +%FT%TZ) $(nproc) cores, $(go version | cut -d' ' -f3), load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# layout: tempest/toil.yaml (ports +10000), $CAMPAIGNS campaigns; idle RSS of the whole layout: $(($(rss_tree "$devpid") / 1024)) MiB"
echo "## pipeline"
"$dir/pipeline" -redis "redis://$redis/0" -inventory http://127.0.0.1:18090 -cycles 3

echo "## web: load -c $CONNS -d $DURATION (max), then -rate max/2; $ROUNDS rounds"
for r in $(seq "$ROUNDS"); do
	for target in bare direct bareproxy proxy; do
		case $target in
		bare) set -- http://127.0.0.1:18180/ ;;
		direct) set -- $direct ;;
		bareproxy) set -- http://127.0.0.1:18000/hello ;;
		proxy) set -- $proxied ;;
		esac
		: >"$dir/rss"
		sample_rss "$dir/rss" &
		sampler=$!
		t0w=$(ticks $webpids) t0t=$(ticks "$devpid") t0b=$(ticks "$barepid")
		max=$($client "$dir/load" -c "$CONNS" -d "$DURATION" "$@")
		t1w=$(ticks $webpids) t1t=$(ticks "$devpid") t1b=$(ticks "$barepid")
		kill "$sampler"; wait "$sampler" 2>/dev/null || true
		reqs=$(echo "$max" | sed 's/.* requests=\([0-9]*\).*/\1/')
		# CPU per request (µs; the warmup's second is not in it, so a slight overcount): web workers, toil (the proxy), the bare server.
		cpu=$(echo "$t0w $t1w $t0t $t1t $t0b $t1b $reqs $hz" | awk '{ f = 1e6 / $8 / $7; printf "cpu-us/req web %.1f toil %.1f bare %.1f", ($2 - $1) * f, ($4 - $3) * f, ($6 - $5) * f }')
		rps=$(echo "$max" | sed 's/.* rps=\([0-9]*\).*/\1/')
		half=$($client "$dir/load" -c "$CONNS" -d "$DURATION" -rate $((rps / 2)) "$@")
		web=$(awk '$1 != "layout" && $2 > m { m = $2 } END { printf "%.1f", m / 1024 }' "$dir/rss")
		lay=$(awk '$1 == "layout" && $2 > m { m = $2 } END { printf "%.0f", m / 1024 }' "$dir/rss")
		echo "round $r $target max: ${max#url=* } | web worker peak RSS ${web} MiB, layout peak RSS ${lay} MiB | $cpu"
		echo "round $r $target half: ${half#url=* }"
		echo "$target $rps $(echo "$max" | sed 's/.* p50=\([0-9.]*\)ms.* p99=\([0-9.]*\)ms.*/\1 \2/') $(echo "$half" | sed 's/.* p50=\([0-9.]*\)ms.* p99=\([0-9.]*\)ms.*/\1 \2/') $web $lay" >>"$dir/results"
	done
done
# Fixed rates, the same for every target: up to which rate p99 stays under
# the 5 ms target here.
echo "## open loop at fixed rates, -d $DURATION: target rate p50 p99 (ms) late"
for rate in $RATES; do
	for target in bare direct bareproxy proxy; do
		case $target in
		bare) set -- http://127.0.0.1:18180/ ;;
		direct) set -- $direct ;;
		bareproxy) set -- http://127.0.0.1:18000/hello ;;
		proxy) set -- $proxied ;;
		esac
		out=$($client "$dir/load" -c "$CONNS" -d "$DURATION" -rate "$rate" "$@")
		echo "fixed $target $rate $(echo "$out" | sed 's/.* late=\([0-9]*\).* p50=\([0-9.]*\)ms.* p99=\([0-9.]*\)ms.*/\2 \3 \1/')"
	done
done

# wrk (C, one thread) as a second opinion on the maximum rate: a cheaper
# client leaves the servers more of the two cores. One URL each.
if command -v wrk >/dev/null; then
	one=$(echo "$direct" | head -1 | sed 's|http://127.0.0.1:18081||')
	echo "## wrk -t1 -c$CONNS -d$DURATION --latency, one URL each (req/s p50 p99)"
	for t in bare:18180:/ direct:18081:$one bareproxy:18000:/hello proxy:18000:$one; do
		name=${t%%:*} rest=${t#*:} port=${rest%%:*} path=${rest#*:}
		$client wrk -t1 -c"$CONNS" -d"$DURATION" --latency "http://127.0.0.1:$port$path" >"$dir/wrk.out"
		echo "wrk $name $(awk '/Requests\/sec/ { r = $2 } $1 == "50%" { p50 = $2 } $1 == "99%" { p99 = $2 } END { print r, p50, p99 }' "$dir/wrk.out")"
	done
fi
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

median() { # target column
	grep "^$1 " "$dir/results" | cut -d' ' -f"$2" | sort -n |
		awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
echo "## medians: target req/s max-p50 max-p99 half-p50 half-p99 (ms) web-worker-RSS layout-RSS (MiB)"
for t in bare direct bareproxy proxy; do
	echo "$t $(median $t 2) $(median $t 3) $(median $t 4) $(median $t 5) $(median $t 6) $(median $t 7) $(median $t 8)"
done
b=$(median bare 2)
echo "direct/bare: $(echo "$(median direct 2) $b" | awk '{ printf "%.3f", $1 / $2 }')"
echo "proxy/bare: $(echo "$(median proxy 2) $b" | awk '{ printf "%.3f", $1 / $2 }')"
echo "proxy/bareproxy (both through the proxy): $(echo "$(median proxy 2) $(median bareproxy 2)" | awk '{ printf "%.3f", $1 / $2 }')"
# Where the layout's memory is, now, after the load.
echo "## RSS by process after the run (MiB): toil (supervisor, proxy, embedded NATS), backing, each service's workers"
echo "toil $(($(rss_of "$devpid") / 1024))"
status | jq -r '.backing[] | "\(.name) \(.pid)"' | while read -r name pid; do
	[ -n "$pid" ] && [ "$pid" != null ] && echo "$name $(($(rss_tree "$pid") / 1024))"
done
status | jq -r '.services[] | "\(.name) \([.workers[].pid] | join(" "))"' | while read -r name pids; do
	sum=0
	for p in $pids; do sum=$((sum + $(rss_of "$p"))); done
	echo "$name ($(echo $pids | wc -w) workers) $((sum / 1024))"
done
echo "whole layout $(($(rss_tree "$devpid") / 1024))"
if command -v redis-cli >/dev/null; then
	rc() { redis-cli -h "${redis%:*}" -p "${redis#*:}" "$@"; }
	echo "## redis: $(rc info memory | awk -F: '/^used_memory_human/ { print $2 }' | tr -d '\r') used, $(rc dbsize) keys; bytes by key kind (MEMORY USAGE, sampled)"
	rc --scan --pattern 'tempest:*' | awk '{
		k = $0
		if (k ~ /^tempest:cycle:[0-9]+:scored$/) k = "tempest:cycle:*:scored"
		else if (k ~ /^tempest:(raw|slate|stats|event):/) sub(/:[^:]*$/, ":*", k)
		print k
	}' | sort | uniq -c | while read -r n kind; do
		one=$(rc --scan --pattern "$kind" | head -1)
		[ -n "$one" ] && echo "$kind $n keys, one is $(rc memory usage "$one") bytes"
	done
fi
