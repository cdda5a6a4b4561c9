package directives

import (
	_ "embed"
	"fmt"
	"slices"
	"strings"

	"github.com/toilhq/toil/analyzers/internal/directive"
	"github.com/toilhq/toil/analyzers/internal/rule"
	"golang.org/x/tools/go/analysis"
)

//go:embed doc.go
var doc string

// Name is the analyzer's name.
const Name = "directives"

// New returns a directives analyzer checking the directives against the
// given rule analyzers (those built by the rule packages' New): it requires
// them, and a rule absent from the list is never reported as unused, since
// it did not run.
func New(rules ...*analysis.Analyzer) *analysis.Analyzer {
	return &analysis.Analyzer{
		Name:             Name,
		Doc:              rule.MustExtractDoc(doc, Name),
		URL:              rule.URL(Name),
		Requires:         slices.Clone(rules),
		RunDespiteErrors: true,
		Run: func(pass *analysis.Pass) (any, error) {
			return nil, run(pass, rules)
		},
	}
}

func run(pass *analysis.Pass, rules []*analysis.Analyzer) error {
	ran := map[string]*rule.Result{}
	for _, a := range rules {
		if res, ok := pass.ResultOf[a].(*rule.Result); ok && res != nil {
			ran[res.Rule] = res
		}
	}
	for _, f := range pass.Files {
		if rule.Generated(f) {
			continue
		}
		for _, found := range directive.Scan(pass.Fset, f) {
			check(pass, &found, ran)
		}
	}
	return nil
}

func check(pass *analysis.Pass, f *directive.Found, ran map[string]*rule.Result) {
	d := f.Directive
	report := func(format string, args ...any) {
		pass.Report(analysis.Diagnostic{
			Pos:      f.Pos,
			End:      f.End,
			Category: Name,
			URL:      rule.URL(Name),
			Message:  fmt.Sprintf(format, args...) + " [" + Name + "]",
		})
	}
	ours := ownRules(d)
	if d.Kind == directive.Nolint && len(ours) == 0 && !d.AllRules() {
		return // another linter's directive
	}
	if d.Spaced {
		if d.Kind != directive.Nolint || len(ours) > 0 {
			report("%q is not a directive: write %s with no space after //", spacedHead(d), strings.Replace(spacedHead(d), "// ", "//", 1))
		}
		return
	}
	switch d.Kind {
	case directive.Unknown:
		report("unknown directive //toil:%s: use //toil:ignore RULE REASON or //toil:file-ignore RULE REASON", d.Verb)
		return
	case directive.Ignore, directive.FileIgnore:
		if len(d.Rules) == 0 {
			report("%s needs a rule and a reason: %s RULE REASON, with RULE one of %s", d.Name(), d.Name(), strings.Join(rule.Names, ", "))
			return
		}
		for _, r := range d.Rules {
			if !rule.Known(r) {
				report("%s names unknown rule %q; known rules: %s", d.Name(), r, strings.Join(rule.Names, ", "))
				return
			}
		}
	}
	if d.AllRules() {
		return // bare //nolint, //nolint:all, //nolint:toil: golangci-lint's business
	}
	if d.Reason == "" {
		report("%s needs a reason: %s", d.Name(), withReason(d))
	}
	for _, r := range ours {
		res, ok := ran[r]
		if !ok {
			continue // the rule did not run: no way to tell whether the directive is needed
		}
		if !res.Used[f.Pos] {
			report("%s for %s suppresses nothing: no %s finding is covered; remove %s from the directive", d.Name(), r, r, r)
		}
	}
}

// ownRules returns the toil rules the directive names, without duplicates.
func ownRules(d directive.Directive) []string {
	var rs []string
	for _, r := range d.Rules {
		if rule.Known(r) && !slices.Contains(rs, r) {
			rs = append(rs, r)
		}
	}
	return rs
}

func spacedHead(d directive.Directive) string {
	s := d.String()
	if i := strings.IndexAny(s[3:], " \t"); i >= 0 {
		return s[:3+i]
	}
	return s
}

func withReason(d directive.Directive) string {
	d.Reason = "REASON"
	return d.String()
}
