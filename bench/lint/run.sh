#!/bin/sh
# run.sh: the toil lint speed measurements recorded in README.md.
#   TOIL=/path/to/toil GOLANGCI=/path/to/golangci-lint sh bench/lint/run.sh
# Needs hyperfine, /usr/bin/time (GNU time), git, jq; golangci-lint v2 is
# optional (its rows are skipped without it).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
TOIL=${TOIL:-toil}
GOLANGCI=${GOLANGCI:-}
work=${WORK:-/tmp/toil-bench}
mkdir -p "$work"

echo "== --staged, one staged file, 5,000-file module"
sh "$here/gen.sh" "$work/big"
cd "$work/big"
hyperfine --warmup 3 --runs 20 --ignore-failure "$TOIL lint --staged" "$TOIL lint ./..."

echo "== prometheus: a large real module"
src=$(GOFLAGS= go mod download -json github.com/prometheus/prometheus@v0.316.0 | jq -r .Dir)
rm -rf "$work/prom"
cp -r "$src" "$work/prom"
chmod -R u+w "$work/prom"
cd "$work/prom"
echo "Go files: $(find . -name '*.go' | wc -l)"

echo "-- cold: empty build cache (toil lint uses none), peak memory"
GOCACHE=$(mktemp -d) /usr/bin/time -v "$TOIL" lint ./... 2>&1 >/dev/null | grep -E 'Elapsed|Maximum resident'

echo "-- warm"
if [ -n "$GOLANGCI" ]; then
	# Fill golangci-lint's caches (and the build cache) first: its cold run
	# compiles every dependency.
	GOFLAGS= go mod download
	GOFLAGS= "$GOLANGCI" run --no-config --default none --enable forbidigo ./... >/dev/null 2>&1 || true
	hyperfine --warmup 1 --runs 5 --ignore-failure \
		"$TOIL lint ./..." \
		"GOFLAGS= $GOLANGCI run --no-config --default none --enable forbidigo ./..."
else
	hyperfine --warmup 1 --runs 10 --ignore-failure "$TOIL lint ./..."
fi
