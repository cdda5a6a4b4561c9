#!/usr/bin/env bash
# run.sh — the accuracy corpus for `toil lint`: real modules from the Go proxy, linted as a user
# would lint them, with a grep survey beside each so a reviewer knows what a correct linter should
# and should not flag.
#
# Usage:  bench/lint-accuracy/run.sh [prepare|survey|lint|optin|review|fix|answers|timing|all] [REGEXP]
#   prepare  download each module in modules.txt (go mod download -json), copy it to a writable
#            tree under $ACC_WORK, and download its dependencies so lint timings exclude the network
#   survey   grep the files `go list ./...` builds (tests included) for candidate leftovers
#   lint     build toil from this checkout and run `toil lint --format json ./...` in each module
#   optin    the same with the opt-in rules on too (debugstack, stdoutwrite, logdebug,
#            dumpimport): outputs named <slug>.optin.*
#   review   join the findings with their verdicts (verdicts.tsv) into results/findings.tsv;
#            fails on a finding nobody has reviewed
#   fix      on a fresh copy of each module with fixable findings: toil lint --fix, then go vet
#            the changed packages (outputs <slug>.fix.txt, <slug>.fix.stderr)
#   answers  the remaining false positives' one-line answers (toil.yaml, //toil:ignore) applied to
#            scratch copies and linted again: results/answers.txt
#   timing   best of three lint runs per module, into timing.tsv (not part of all)
#   all      prepare, survey, lint, optin, review, fix, answers in order (default)
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
# The toil source to build: this checkout, or e.g. a `git archive HEAD` export when the working
# tree holds other people's unfinished changes.
TOIL_SRC=${TOIL_SRC:-$ROOT}
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

# lint SUFFIX [toil lint flags...]: one toil lint run per module, outputs named <slug>SUFFIX.*.
lint() {
	local suffix=$1 mv dst s rc
	shift
	(cd "$TOIL_SRC" && GOFLAGS= go build -o "$TOIL" ./cmd/toil)
	for mv in $(modules); do
		s=$(slug "$mv")$suffix
		dst="$WORK/src/$(slug "$mv")"
		[[ -d "$dst" ]] || { echo "lint $mv: not prepared" >&2; continue; }
		rc=0
		(cd "$dst" && /usr/bin/time -o "$OUT/$s.time" -f '%e %M' "$TOIL" lint --format json "$@" ./... >"$OUT/$s.json" 2>"$OUT/$s.stderr") || rc=$?
		echo "$rc" >"$OUT/$s.rc"
		echo "lint$suffix $mv: rc=$rc findings=$(jq '.findings | length' "$OUT/$s.json" 2>/dev/null) time(s,KB)=$(tail -1 "$OUT/$s.time")"
	done
}

# timing: best of three `toil lint ./...` runs per module (wall seconds, peak RSS), with the load
# average beside each, since other work on the machine inflates single runs.
timing() {
	local mv dst best rss t
	(cd "$TOIL_SRC" && GOFLAGS= go build -o "$TOIL" ./cmd/toil)
	printf 'module\tbest_wall_s\tpeak_rss_mib\tload1_before\n' >"$OUT/timing.tsv"
	for mv in $(modules); do
		dst="$WORK/src/$(slug "$mv")"
		[[ -d "$dst" ]] || continue
		best="" rss=0
		local load
		load=$(cut -d' ' -f1 /proc/loadavg)
		for _ in 1 2 3; do
			(cd "$dst" && /usr/bin/time -o "$WORK/time.$$" -f '%e %M' "$TOIL" lint --format json ./... >/dev/null 2>&1) || true
			# time(1) puts "Command exited with non-zero status 1" first when toil finds something.
			read -r t m < <(tail -1 "$WORK/time.$$")
			if [[ -z "$best" ]] || awk -v a="$t" -v b="$best" 'BEGIN{exit !(a<b)}'; then best=$t; fi
			((m > rss)) && rss=$m
		done
		printf '%s\t%s\t%d\t%s\n' "$mv" "$best" $((rss / 1024)) "$load" >>"$OUT/timing.tsv"
	done
	rm -f "$WORK/time.$$"
	column -t "$OUT/timing.tsv"
}

# review: join every finding (default and opt-in runs) with its verdict in verdicts.tsv into
# results/findings.tsv; fails, listing them, when a finding has no verdict (a new finding after a
# toil change is then reviewed, not silently counted).
review() {
	local mv s tag
	: >"$OUT/findings.tsv.tmp"
	for mv in $(modules); do
		s=$(slug "$mv")
		for tag in "" .optin; do
			[[ -f "$OUT/$s$tag.json" ]] || continue
			jq -r --arg m "${mv%@*}" --arg run "${tag:-.default}" \
				'.findings[] | [$m, ($run | ltrimstr(".")), .rule, .file, (.line | tostring), (if .fixable then "fixable" else "-" end)] | @tsv' \
				"$OUT/$s$tag.json" |
				while IFS=$'\t' read -r m run rule file line fixable; do
					printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$m" "$run" "$rule" "$file" "$line" "$fixable" \
						"$(sed -n "${line}p" "$WORK/src/$s/$file" | sed 's/^[[:space:]]*//' | cut -c1-120)"
				done >>"$OUT/findings.tsv.tmp"
		done
	done
	# An opt-in run repeats the default findings: keep each finding once, from the default run.
	awk -F'\t' '!seen[$1 FS $3 FS $4 FS $5]++' "$OUT/findings.tsv.tmp" |
		awk -F'\t' -v OFS='\t' '
			NR == FNR {
				if ($0 ~ /^#/ || NF < 6) next
				n = split($4, ls, " ")
				for (i = 1; i <= n; i++) v[$1 FS $2 FS $3 FS ls[i]] = $5 OFS $6
				next
			}
			{
				key = $1 FS $3 FS $4 FS $5; star = $1 FS $3 FS $4 FS "*"
				verdict = (key in v) ? v[key] : (star in v) ? v[star] : "UNREVIEWED" OFS "-"
				print $1, $2, $3, $4 ":" $5, $6, verdict, $7
			}' "$HERE/verdicts.tsv" - >"$OUT/findings.tsv"
	rm -f "$OUT/findings.tsv.tmp"
	echo "findings by run, rule and verdict:"
	cut -f2,3,6 "$OUT/findings.tsv" | sort | uniq -c
	if grep -q UNREVIEWED "$OUT/findings.tsv"; then
		echo "unreviewed findings:" >&2
		grep UNREVIEWED "$OUT/findings.tsv" >&2
		return 1
	fi
}

# fix: on a fresh copy of each module with fixable findings, run toil lint --fix, then go vet the
# packages it changed: a fix must never leave code that does not compile.
fix() {
	local mv s src dst rc dirs
	for mv in $(modules); do
		s=$(slug "$mv")
		src="$WORK/src/$s"
		[[ -f "$OUT/$s.json" ]] || continue
		[[ $(jq '[.findings[] | select(.fixable)] | length' "$OUT/$s.json") -gt 0 ]] || continue
		dst="$WORK/fix/$s"
		rm -rf "$dst"
		mkdir -p "$WORK/fix"
		cp -r "$src" "$dst"
		(
			cd "$dst"
			git init -q . && git add -A && git -c user.name=acc -c user.email=acc@localhost commit -qm corpus
			rc=0
			"$TOIL" lint --fix ./... >/dev/null 2>"$OUT/$s.fix.stderr" || rc=$?
			dirs=$(git diff --name-only | xargs -r -n1 dirname | sort -u | sed 's|^|./|')
			echo "fix rc=$rc; $(git diff --shortstat)"
			if [[ -n "$dirs" ]]; then
				# shellcheck disable=SC2086 # one argument per changed package directory
				go vet $dirs 2>&1 | grep -v '^#' | head -20 || true
			fi
		) >"$OUT/$s.fix.txt" 2>&1
		echo "fix $mv: $(head -1 "$OUT/$s.fix.txt"); vet lines: $(($(wc -l <"$OUT/$s.fix.txt") - 1))"
	done
}

# answers: the default-rule false positives no exemption covers have an answer a user writes in one
# line: fzf's program package is declared a command package in toil.yaml, and delve's deliberate
# "API server listening at:" gets a //toil:ignore with its reason. Apply each to a scratch copy,
# lint again, and record the findings left in the files concerned (results/answers.txt): none.
answers() {
	local fzf delve
	fzf=$(slug github.com/junegunn/fzf@v0.65.2)
	delve=$(slug github.com/go-delve/delve@v1.27.2)
	(cd "$TOIL_SRC" && GOFLAGS= go build -o "$TOIL" ./cmd/toil)
	rm -rf "$WORK/answers"
	mkdir -p "$WORK/answers"
	cp -r "$WORK/src/$fzf" "$WORK/answers/$fzf"
	cp -r "$WORK/src/$delve" "$WORK/answers/$delve"
	printf 'lint:\n  command-patterns: [github.com/junegunn/fzf/src]\n' >"$WORK/answers/$fzf/toil.yaml"
	sed -i '167s|^\(\s*\)fmt.Println(msg)$|\1//toil:ignore fmtprint announces the API server address on stdout; IDE clients read it\n&|' \
		"$WORK/answers/$delve/pkg/logflags/logflags.go"
	{
		echo "# toil lint --format json ./... after the answers (toil.yaml for fzf, //toil:ignore for delve)"
		(cd "$WORK/answers/$fzf" && "$TOIL" lint --format json ./... || true) |
			jq -r '"fzf: \(.findings | length) findings; in src/options.go: \([.findings[] | select(.file == "src/options.go")] | length)"'
		(cd "$WORK/answers/$delve" && "$TOIL" lint --format json ./... || true) |
			jq -r '"delve: \(.findings | length) findings; in pkg/logflags/logflags.go: \([.findings[] | select(.file == "pkg/logflags/logflags.go")] | length)"'
	} >"$OUT/answers.txt"
	cat "$OUT/answers.txt"
}

case "$STAGE" in
prepare) prepare ;;
survey) survey ;;
lint) lint "" ;;
optin) lint .optin --enable debugstack,stdoutwrite,logdebug,dumpimport ;;
fix) fix ;;
timing) timing ;;
answers) answers ;;
review) review ;;
all) prepare && survey && lint "" && lint .optin --enable debugstack,stdoutwrite,logdebug,dumpimport && review && fix && answers ;;
*) echo "usage: $0 [prepare|survey|lint|optin|review|fix|answers|timing|all] [REGEXP]" >&2; exit 2 ;;
esac
