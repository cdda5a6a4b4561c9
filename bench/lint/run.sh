#!/bin/sh
# run.sh: the toil lint speed measurements recorded in README.md.
#   TOIL=/path/to/toil GOLANGCI=/path/to/golangci-lint sh bench/lint/run.sh
# Needs hyperfine, /usr/bin/time (GNU time), git, jq; golangci-lint v2 is
# optional (its rows are skipped without it). golangci-lint's cold run
# compiles every dependency of prometheus: tens of minutes on two loaded
# cores. WORK (default /tmp/toil-bench) holds the trees and caches.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
TOIL=${TOIL:-toil}
GOLANGCI=${GOLANGCI:-}
work=${WORK:-/tmp/toil-bench}
mkdir -p "$work"
uptime

echo "== --staged, one staged file, 5,000-file module"
sh "$here/gen.sh" "$work/big"
cd "$work/big"
export TOIL_LINT_CACHE="$work/toilcache-big"
rm -rf "$TOIL_LINT_CACHE"
hyperfine --warmup 3 --runs 20 --ignore-failure "$TOIL lint --staged" "$TOIL lint ./..." "TOIL_LINT_CACHE=off $TOIL lint ./..."

echo "== prometheus: a large real module"
src=$(GOFLAGS= go mod download -json github.com/prometheus/prometheus@v0.316.0 | jq -r .Dir)
rm -rf "$work/prom"
cp -r "$src" "$work/prom"
chmod -R u+w "$work/prom"
cd "$work/prom"
echo "Go files: $(find . -name '*.go' | wc -l)"
# prometheus's go.work names modules its module zip lacks: go/packages
# (golangci-lint) fails without GOWORK=off. toil lint reads no go.work.
export GOWORK=off
GOFLAGS= go mod download

echo "-- cold: empty build cache and empty toil cache, peak memory"
TOIL_LINT_CACHE=$(mktemp -d) GOCACHE=$(mktemp -d) /usr/bin/time -v "$TOIL" lint ./... 2>&1 >/dev/null |
	grep -E 'Elapsed|Maximum resident|User time|Exit status'
if [ -n "$GOLANGCI" ]; then
	rm -rf "$work/gocache" "$work/glcache"
	GOCACHE="$work/gocache" GOLANGCI_LINT_CACHE="$work/glcache" /usr/bin/time -v \
		"$GOLANGCI" run -c "$here/golangci.yml" ./... 2>&1 >/dev/null |
		grep -E 'Elapsed|Maximum resident|User time|Exit status' || true
fi

echo "-- warm, side by side"
export TOIL_LINT_CACHE="$work/toilcache-prom"
rm -rf "$TOIL_LINT_CACHE"
"$TOIL" lint ./... >/dev/null || true # fill toil's cache
if [ -n "$GOLANGCI" ]; then
	export GOCACHE="$work/gocache" GOLANGCI_LINT_CACHE="$work/glcache"
	gl="$GOLANGCI run -c $here/golangci.yml ./..."
	hyperfine -w 1 -r 10 -i "$TOIL lint ./..." "TOIL_LINT_CACHE=off $TOIL lint ./..." "$gl"
	sh "$here/alternate.sh" 10 "$TOIL lint ./..." "$gl"
	sh "$here/alternate.sh" 10 "TOIL_LINT_CACHE=off $TOIL lint ./..." "$gl"
else
	hyperfine -w 1 -r 10 -i "$TOIL lint ./..." "TOIL_LINT_CACHE=off $TOIL lint ./..."
fi

echo "== nats-server: one huge package (server: 144 files, 426k lines, one print)"
src=$(GOFLAGS= go mod download -json github.com/nats-io/nats-server/v2@v2.15.2 | jq -r .Dir)
rm -rf "$work/nats"
cp -r "$src" "$work/nats"
chmod -R u+w "$work/nats"
cd "$work/nats"
for i in 1 2 3; do
	TOIL_LINT_CACHE=off /usr/bin/time -v "$TOIL" lint ./... 2>&1 >/dev/null |
		grep -E 'Elapsed|Maximum resident|User time|Exit status' || true
done
# With OLD set to an earlier toil binary, both side by side.
if [ -n "${OLD:-}" ]; then
	sh "$here/compare.sh" "$OLD" "$TOIL" "$work/nats" 5
fi
uptime
