#!/bin/sh
# gen.sh DIR [PACKAGES] [FILES_PER_PACKAGE]: a synthetic module of
# PACKAGES*FILES Go files (default 250*20 = 5,000), committed to a fresh git
# repository, for timing `toil lint --staged` on a large module.
set -eu
dir=$1
pkgs=${2:-250}
files=${3:-20}
rm -rf "$dir"
mkdir -p "$dir"
cd "$dir"
printf 'module example.com/big\n\ngo 1.22\n\nrequire github.com/example/dep v1.0.0\n' > go.mod
p=0
while [ "$p" -lt "$pkgs" ]; do
	d=internal/area$((p % 10))/pkg$p
	mkdir -p "$d"
	f=0
	while [ "$f" -lt "$files" ]; do
		cat > "$d/file$f.go" <<GO
package pkg$p

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/example/dep"
)

// Thing$f is a thing.
type Thing$f struct {
	Name  string
	Count int
	tags  []string
}

// New$f returns a Thing$f.
func New$f(name string) (*Thing$f, error) {
	if name == "" {
		return nil, errors.New("empty name")
	}
	return &Thing$f{Name: strings.TrimSpace(name)}, nil
}

// Describe$f describes t.
func (t *Thing$f) Describe$f(ctx context.Context) string {
	if err := ctx.Err(); err != nil {
		return fmt.Sprintf("cancelled: %v", err)
	}
	var b strings.Builder
	for i, tag := range t.tags {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(tag)
	}
	return fmt.Sprintf("%s (%d) [%s] %v", t.Name, t.Count, b.String(), dep.Value())
}
GO
		f=$((f + 1))
	done
	p=$((p + 1))
done
git init -q
git add .
git -c user.name=bench -c user.email=bench@example.com commit -q -m base
# The one staged change: a debug print in one file of one package.
sed -i 's/^	var b strings.Builder$/	fmt.Println("debug", t.Name)\n	var b strings.Builder/' internal/area3/pkg123/file7.go
git add internal/area3/pkg123/file7.go
echo "$(find . -name '*.go' | wc -l) Go files in $dir; staged: internal/area3/pkg123/file7.go"
