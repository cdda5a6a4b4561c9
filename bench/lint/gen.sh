#!/bin/sh
# gen.sh DIR [PACKAGES] [FILES_PER_PACKAGE]: a synthetic module of
# PACKAGES*FILES Go files (default 250*20 = 5,000), committed to a fresh git
# repository, with one debug print added and staged in
# internal/area3/pkg123/file7.go (when that file exists), for timing
# `toil lint --staged` on a large module.
# GEN_NOGIT=1 skips git: the files only, the print added in the working tree
# (lint's prefilter test lints this module with and without the prefilter).
set -eu
dir=$1
pkgs=${2:-250}
files=${3:-20}
rm -rf "$dir"
mkdir -p "$dir"
cd "$dir"
printf 'module example.com/big\n\ngo 1.22\n\nrequire github.com/example/dep v1.0.0\n' > go.mod
# One awk process writes every file: a shell loop forking cat per file took
# minutes on a loaded machine.
awk -v pkgs="$pkgs" 'BEGIN { for (p = 0; p < pkgs; p++) print "internal/area" (p % 10) "/pkg" p }' | xargs mkdir -p
awk -v pkgs="$pkgs" -v files="$files" 'BEGIN {
	for (p = 0; p < pkgs; p++) {
		d = "internal/area" (p % 10) "/pkg" p
		for (f = 0; f < files; f++) {
			out = d "/file" f ".go"
			printf "package pkg%d\n\n", p > out
			printf "import (\n\t\"context\"\n\t\"errors\"\n\t\"fmt\"\n\t\"strings\"\n\n\t\"github.com/example/dep\"\n)\n\n" > out
			printf "// Thing%d is a thing.\ntype Thing%d struct {\n\tName  string\n\tCount int\n\ttags  []string\n}\n\n", f, f > out
			printf "// New%d returns a Thing%d.\nfunc New%d(name string) (*Thing%d, error) {\n", f, f, f, f > out
			printf "\tif name == \"\" {\n\t\treturn nil, errors.New(\"empty name\")\n\t}\n" > out
			printf "\treturn &Thing%d{Name: strings.TrimSpace(name)}, nil\n}\n\n", f > out
			printf "// Describe%d describes t.\nfunc (t *Thing%d) Describe%d(ctx context.Context) string {\n", f, f, f > out
			printf "\tif err := ctx.Err(); err != nil {\n\t\treturn fmt.Sprintf(\"cancelled: %%v\", err)\n\t}\n" > out
			printf "\tvar b strings.Builder\n\tfor i, tag := range t.tags {\n\t\tif i > 0 {\n\t\t\tb.WriteString(\",\")\n\t\t}\n\t\tb.WriteString(tag)\n\t}\n" > out
			printf "\treturn fmt.Sprintf(\"%%s (%%d) [%%s] %%v\", t.Name, t.Count, b.String(), dep.Value())\n}\n" > out
			close(out)
		}
	}
}'
staged=internal/area3/pkg123/file7.go
if [ -z "${GEN_NOGIT:-}" ]; then
	git init -q
	git add .
	git -c user.name=bench -c user.email=bench@example.com commit -q -m base
fi
if [ -f "$staged" ]; then
	# The one change: a debug print in one file of one package.
	sed -i 's/^	var b strings.Builder$/	fmt.Println("debug", t.Name)\n	var b strings.Builder/' "$staged"
	[ -n "${GEN_NOGIT:-}" ] || git add "$staged"
fi
echo "$(find . -name '*.go' | wc -l) Go files in $dir; changed: $staged"
