package rule

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/toilhq/toil/analyzers/internal/targets"
)

// Patterns is a flag.Value holding import-path patterns of packages to treat
// as command packages, written comma-separated on the command line
// (-fmtprint.cmdpatterns=example.com/tools/...,example.com/*/cli).
//
// A pattern is an import path where "..." matches any string (a trailing
// "/..." also matches the path without it, as in go list) and "*" matches
// within one path element.
type Patterns struct {
	src []string
	res []*regexp.Regexp
}

// String returns the patterns as Set accepts them.
func (p *Patterns) String() string {
	if p == nil {
		return ""
	}
	return strings.Join(p.src, ",")
}

// Set replaces the patterns with the comma-separated list s.
func (p *Patterns) Set(s string) error {
	var src []string
	var res []*regexp.Regexp
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		re, err := CompilePattern(part)
		if err != nil {
			return err
		}
		src = append(src, part)
		res = append(res, re)
	}
	p.src, p.res = src, res
	return nil
}

// Match reports whether path matches one of the patterns.
func (p *Patterns) Match(path string) bool {
	for _, re := range p.res {
		if re.MatchString(path) {
			return true
		}
	}
	return false
}

// CompilePattern compiles one import-path pattern (see Patterns).
func CompilePattern(pattern string) (*regexp.Regexp, error) {
	if pattern == "" || strings.ContainsAny(pattern, ", \t\n") {
		return nil, fmt.Errorf("import path pattern %q: want an import path like example.com/tools/... (no spaces or commas)", pattern)
	}
	var b strings.Builder
	b.WriteString("^")
	rest := pattern
	for rest != "" {
		switch {
		case rest == "/...":
			b.WriteString("(/.*)?")
			rest = ""
		case strings.HasPrefix(rest, "..."):
			b.WriteString(".*")
			rest = rest[3:]
		case rest[0] == '*':
			b.WriteString("[^/]*")
			rest = rest[1:]
		default:
			b.WriteString(regexp.QuoteMeta(rest[:1]))
			rest = rest[1:]
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// IsCommand reports whether a package is a command package, whose printing
// is its product: package main or cmd (cobra's layout), a "cmd" element in
// its import path, an import of a CLI framework (targets.CommandFrameworks)
// in one of its non-test files, or a path matching the configured patterns.
// Imports are read from the syntax, so this holds even when toil lint leaves
// the framework's package unloaded.
func IsCommand(pkgPath, pkgName string, files []File, patterns *Patterns) bool {
	if pkgName == "main" || pkgName == "cmd" {
		return true
	}
	if slices.Contains(strings.Split(pkgPath, "/"), "cmd") {
		return true
	}
	if patterns != nil && patterns.Match(pkgPath) {
		return true
	}
	for _, f := range files {
		if f.Test {
			continue
		}
		for _, spec := range f.Syntax.Imports {
			if targets.IsCommandFramework(ImportPath(spec)) {
				return true
			}
		}
	}
	return false
}
