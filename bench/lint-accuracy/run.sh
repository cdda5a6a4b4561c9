#!/usr/bin/env bash
# run.sh — the accuracy corpus for `toil lint`: real modules from the Go proxy, linted as a user
# would lint them, with a grep survey beside each so a reviewer knows what a correct linter should
# and should not flag.
#
# Usage:  bench/lint-accuracy/run.sh [prepare|survey|lint|all] [REGEXP]
#   prepare  download each module in modules.txt (go mod download -json), copy it to a writable
#            tree under $ACC_WORK, and download its dependencies so lint timings exclude the network
#   survey   grep the files `go list ./...` builds (tests included) for candidate leftovers
#   lint     build toil from this checkout and run `toil lint --format json ./...` in each module
#   all      the three in order (default)
# REGEXP limits the run to modules whose path matches it.
#
# Outputs go to $ACC_OUT (default: results/ beside this script): per module, <slug>.json (toil's
# stdout), <slug>.stderr, <slug>.rc, <slug>.time ("wall_s maxrss_kb"), <slug>.survey.tsv (columns:
# candidate rule, lib|test, package name, gen (generated file), cli (package imports a CLI
# framework), cmd (import path has a cmd element), import path, file:line, code).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WORK=${ACC_WORK:-/tmp/lint-accuracy}
OUT=${ACC_OUT:-$HERE/results}
TOIL=${TOIL:-/tmp/toil-acc}
STAGE=${1:-all}
FILTER=${2:-.}

# The machine's Go is the one to use: a module's toolchain line must not trigger a download.
export GOTOOLCHAIN=local
# Released go.mod files can lack go.sum lines once relative replaces are dropped; let go add them.
export GOFLAGS=-mod=mod

mkdir -p "$WORK/src" "$OUT"

modules() {
	grep -v '^#' "$HERE/modules.txt" | awk 'NF {print $1}' | grep -E -- "$FILTER"
}

slug() { echo "$1" | tr '/@' '__'; }

prepare() {
	local mv dir dst
	for mv in $(modules); do
		dst="$WORK/src/$(slug "$mv")"
		if [[ -f "$dst/.prepared" ]]; then continue; fi
		dir=$(go mod download -json "$mv" | jq -r '.Dir // error(.Error)')
		rm -rf "$dst"
		cp -r "$dir" "$dst"
		chmod -R u+w "$dst"
		(
			cd "$dst"
			# A module zip holds only its own module, so a go.work naming sibling modules can't load.
			rm -f go.work go.work.sum
			go mod edit -toolchain=none
			# Monorepo modules (etcd) replace siblings with ../x; the published versions stand in.
			go mod edit -json | jq -r '.Replace[]? | select(.New.Path | startswith(".")) | .Old.Path' |
				while read -r old; do go mod edit -dropreplace="$old"; done
			go mod download
			go list -e -deps -test ./... >/dev/null
		) >"$OUT/$(slug "$mv").prepare.log" 2>&1 || { echo "prepare $mv failed: see $OUT/$(slug "$mv").prepare.log" >&2; continue; }
		touch "$dst/.prepared"
		echo "prepared $mv"
	done
}

# Candidate leftovers, by text: what a reviewer checks toil's findings and misses against.
PATTERN='\bfmt\.Print(f|ln)?\(|(^|[^.[:alnum:]_])(print|println)\(|runtime\.Breakpoint\(|\b(spew|pp|litter|pretty|repr|godump|dump)\.(Dump|Fdump|Print|Printf|Println|Fprint|Fprintf|Fprintln|P|V|NoLoc)\(|debug\.PrintStack\(|os\.Std(out|err)\.Write'

survey() {
	local mv dst s
	for mv in $(modules); do
		s=$(slug "$mv")
		dst="$WORK/src/$s"
		[[ -d "$dst" ]] || { echo "survey $mv: not prepared" >&2; continue; }
		(
			cd "$dst"
			# One line per built file (class, package name, import path, file): only files `./...`
			# builds on this platform count, as for toil.
			go list -e -f '{{$i := join .Imports " "}}{{range .GoFiles}}lib	{{$.Name}}	{{$.ImportPath}}	{{$.Dir}}/{{.}}	{{$i}}
{{end}}{{range .CgoFiles}}lib	{{$.Name}}	{{$.ImportPath}}	{{$.Dir}}/{{.}}	{{$i}}
{{end}}{{range .TestGoFiles}}test	{{$.Name}}	{{$.ImportPath}}	{{$.Dir}}/{{.}}	{{$i}}
{{end}}{{range .XTestGoFiles}}test	{{$.Name}}_test	{{$.ImportPath}}	{{$.Dir}}/{{.}}	{{$i}}
{{end}}' ./... 2>/dev/null | while IFS=$'\t' read -r class name ipath file imports; do
				[[ -n "$file" ]] || continue
				grep -nE "$PATTERN" "$file" 2>/dev/null | while IFS= read -r hit; do
					local line=${hit%%:*} code=${hit#*:}
					# Comments mention print(…) too often to be worth a reviewer's time.
					[[ "$code" =~ ^[[:space:]]*// ]] && continue
					local gen=- cli=- cmd=-
					grep -qE '^// Code generated .* DO NOT EDIT\.$' "$file" && gen=gen
					[[ " $imports " =~ \ github.com/(spf13/cobra|urfave/cli(/v[23])?|alecthomas/kong|peterbourgon/ff/v[0-9]+/ffcli|mitchellh/cli)\  ]] && cli=cli
					if [[ "/$ipath/" == */cmd/* ]]; then cmd=cmd; fi
					local rule=builtinprint
					case "$code" in
					*runtime.Breakpoint*) rule=breakpoint ;;
					*debug.PrintStack*) rule=debugstack ;;
					*fmt.Print*) rule=fmtprint ;;
					*os.Stdout.Write* | *os.Stderr.Write*) rule=stdoutwrite ;;
					*spew.* | *pp.* | *litter.* | *pretty.* | *repr.* | *dump.*) rule=dumpcall ;;
					esac
					printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s:%s\t%s\n' "$rule" "$class" "$name" "$gen" "$cli" "$cmd" "$ipath" "${file#"$dst"/}" "$line" "$(echo "$code" | sed 's/^[[:space:]]*//' | cut -c1-160)"
				done || true # grep finds nothing in most files
			done
		) >"$OUT/$s.survey.tsv"
		echo "survey $mv: $(wc -l <"$OUT/$s.survey.tsv") candidate lines"
	done
}

lint() {
	local mv dst s rc
	(cd "$ROOT" && GOFLAGS= go build -o "$TOIL" ./cmd/toil)
	for mv in $(modules); do
		s=$(slug "$mv")
		dst="$WORK/src/$s"
		[[ -d "$dst" ]] || { echo "lint $mv: not prepared" >&2; continue; }
		rc=0
		(cd "$dst" && /usr/bin/time -o "$OUT/$s.time" -f '%e %M' "$TOIL" lint --format json ./... >"$OUT/$s.json" 2>"$OUT/$s.stderr") || rc=$?
		echo "$rc" >"$OUT/$s.rc"
		echo "lint $mv: rc=$rc time(s,KB)=$(cat "$OUT/$s.time" | tail -1)"
	done
}

case "$STAGE" in
prepare) prepare ;;
survey) survey ;;
lint) lint ;;
all) prepare && survey && lint ;;
*) echo "usage: $0 [prepare|survey|lint|all] [REGEXP]" >&2; exit 2 ;;
esac
