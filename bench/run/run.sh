#!/bin/sh
# toil run start time: cold (empty toil cache, go build cache warm) against
# cached (nothing changed), side by side in one hyperfine run, plus what the
# parts cost. Needs hyperfine (apt-get install hyperfine).
#
# Usage, from the repository root: bench/run/run.sh [runs]
set -eu
runs=${1:-20}
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The go build cache stays where it is (warm); only toil's cache moves.
export GOCACHE="$(go env GOCACHE)" GOFLAGS=-mod=mod GOTOOLCHAIN=local
export XDG_CACHE_HOME="$tmp/xdg"

go build -o "$tmp/toil" "$root/cmd/toil"
mkdir -p "$tmp/app/hello" "$tmp/app/cmd/hello"
cat > "$tmp/app/go.mod" <<MOD
module example.com/app

go 1.26

require github.com/toilhq/toil v0.0.0

replace github.com/toilhq/toil => $root
MOD
cat > "$tmp/app/hello/world.go" <<'GO'
package hello

import (
	"context"

	"github.com/toilhq/toil"
)

func World(ctx context.Context, s *toil.S) error {
	s.Log.Info("hello world")
	return nil
}
GO
# The hand-written main a user would otherwise keep, for `go run`.
cat > "$tmp/app/cmd/hello/main.go" <<'GO'
package main

import (
	"example.com/app/hello"

	"github.com/toilhq/toil"
)

func main() { toil.Main("hello.world", hello.World) }
GO
cd "$tmp/app"
"$tmp/toil" run hello.world -v 2>&1 | grep -v '"msg"'   # fills go.sum, warms the go build cache
bin=$(ls "$XDG_CACHE_HOME"/toil/run/*/*/hello.world)
go run ./cmd/hello 2>/dev/null                           # warms go run's cache

echo "== toil run: cold vs cached"
hyperfine -N --warmup 2 --runs "$runs" \
	--prepare "rm -rf $XDG_CACHE_HOME/toil" --prepare true --prepare true --prepare true \
	-n 'cold (empty toil cache)' "$tmp/toil run hello.world" \
	-n 'cached' "$tmp/toil run hello.world" \
	-n 'the binary alone' "$bin" \
	-n 'go run ./cmd/hello (hand-written main)' "go run ./cmd/hello"

echo "== the parts of a cold start"
pat="$tmp/app/hello"
# One --prepare per command, in order: only the last starts without its output.
hyperfine -N --warmup 2 --runs "$runs" \
	--prepare true --prepare true --prepare true --prepare true --prepare "rm -f $tmp/hello.bin" \
	-n 'go env (build settings)' "go env -json GOVERSION GOOS GOARCH GOFLAGS GOMOD GOWORK GOMODCACHE" \
	-n 'discovery: go list -export (what go/packages runs)' \
	"go list -e -json=Name,ImportPath,Error,Dir,GoFiles,CompiledGoFiles,Imports,ImportMap,Export,Module -compiled=true -test=false -export=true -deps=true -find=false -pgo=off -- $pat" \
	-n 'inputs: go list -deps (files to stamp)' \
	"go list -e -deps -json=ImportPath,Dir,Standard,Module,GoFiles,CgoFiles,EmbedFiles,IgnoredGoFiles -- $pat github.com/toilhq/toil" \
	-n 'go build, output up to date (let go decide)' "go build -buildvcs=false -o $tmp/hello.bin ./cmd/hello" \
	-n 'go build, link only (cache warm, no output)' "go build -buildvcs=false -o $tmp/hello.bin ./cmd/hello"

echo "== stamps the cached path checks"
python3 -c "import json,glob; m=json.load(open(glob.glob('$XDG_CACHE_HOME/toil/run/*/manifest.json')[0])); print(len(m['stamps']), 'stamps')" 2>/dev/null || true
