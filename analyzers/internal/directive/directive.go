// Package directive parses and locates the suppression comments that toil's
// analyzers honour:
//
//	//toil:ignore RULE[,RULE...] REASON       this line, or the code that starts on the next line
//	//toil:file-ignore RULE[,RULE...] REASON  the whole file
//	//nolint:RULE[,RULE...] // REASON         golangci-lint's form, same placement as toil:ignore
//
// go vet has no suppression mechanism, so every analyzer applies these itself
// (see analyzers/internal/rule); the directives analyzer reports the ones
// that are malformed or suppress nothing.
package directive

import (
	"strings"
	"unicode"
)

// Kind says which directive a comment is.
type Kind uint8

// The directive kinds.
const (
	// Ignore is //toil:ignore: suppresses findings on its line, or, written
	// on a line of its own, on the code that starts on the next line.
	Ignore Kind = iota + 1
	// FileIgnore is //toil:file-ignore: suppresses findings in the whole file.
	FileIgnore
	// Nolint is golangci-lint's //nolint, placed like Ignore.
	Nolint
	// Unknown is //toil:VERB with a VERB toil does not define; it suppresses
	// nothing and is reported, because it is almost always a typo.
	Unknown
)

// Directive is one parsed suppression comment.
type Directive struct {
	Kind Kind
	// Verb is the word after "toil:" as written; set for every toil: kind.
	Verb string
	// Rules are the rule names as written, split at commas (nolint names are
	// lower-cased, as golangci-lint does). Nil when none were written: a bare
	// //nolint means every linter.
	Rules []string
	// Reason is the free text explaining why the finding is fine.
	Reason string
	// Spaced is set for "// toil:ignore ...", "// toil:file-ignore ..." and
	// "// nolint...": Go directives have no space after the slashes, so
	// these suppress nothing, and they are reported because the author
	// clearly meant a directive.
	Spaced bool
}

// Parse parses the text of one comment as found in ast.Comment.Text
// ("//toil:ignore fmtprint reason"). It reports false when the comment is
// not a directive toil knows about. Block comments are never directives.
func Parse(text string) (Directive, bool) {
	body, ok := strings.CutPrefix(text, "//")
	if !ok || strings.ContainsAny(body, "\n") {
		return Directive{}, false
	}
	var d Directive
	if trimmed := strings.TrimLeft(body, " "); trimmed != body {
		// "// toil:ignore" is a near miss worth reporting; other text after
		// "// " (a YAML "toil:" key in a doc comment) is prose.
		d.Spaced = true
		body = trimmed
	}
	if rest, ok := strings.CutPrefix(body, "toil:"); ok {
		d = parseToil(d, rest)
		if d.Spaced && d.Kind == Unknown {
			return Directive{}, false
		}
		return d, true
	}
	if rest, ok := strings.CutPrefix(body, "nolint"); ok {
		return parseNolint(d, rest)
	}
	return Directive{}, false
}

func parseToil(d Directive, rest string) Directive {
	verb, args := cutSpace(rest)
	d.Verb = verb
	switch verb {
	case "ignore":
		d.Kind = Ignore
	case "file-ignore":
		d.Kind = FileIgnore
	default:
		d.Kind = Unknown
		d.Reason = args
		return d
	}
	if args == "" {
		return d
	}
	names, reason := cutSpace(args)
	d.Rules = strings.Split(names, ",")
	d.Reason = reason
	return d
}

func parseNolint(d Directive, rest string) (Directive, bool) {
	d.Kind = Nolint
	switch {
	case rest == "":
		return d, true
	case rest[0] == ':':
		rest = rest[1:]
		end := strings.IndexFunc(rest, unicode.IsSpace)
		if i := strings.Index(rest, "//"); i >= 0 && (end < 0 || i < end) {
			end = i
		}
		if end < 0 {
			end = len(rest)
		}
		d.Rules = strings.Split(lowerASCII(rest[:end]), ",")
		rest = rest[end:]
	case startsWithSpace(rest):
	default:
		// "//nolintfoo" is an ordinary comment for golangci-lint too.
		return Directive{}, false
	}
	rest = strings.TrimSpace(rest)
	if r, ok := strings.CutPrefix(rest, "//"); ok {
		rest = strings.TrimSpace(r)
	}
	d.Reason = rest
	return d, true
}

// String formats d as the comment Parse would read back as d.
func (d Directive) String() string {
	var b strings.Builder
	b.WriteString("//")
	if d.Spaced {
		b.WriteString(" ")
	}
	if d.Kind == Nolint {
		b.WriteString("nolint")
		if d.Rules != nil {
			b.WriteString(":" + strings.Join(d.Rules, ","))
		}
		if d.Reason != "" {
			b.WriteString(" // " + d.Reason)
		}
		return b.String()
	}
	b.WriteString("toil:" + d.Verb)
	if d.Rules != nil {
		b.WriteString(" " + strings.Join(d.Rules, ","))
	}
	if d.Reason != "" {
		b.WriteString(" " + d.Reason)
	}
	return b.String()
}

// Name is how messages refer to the directive: "//toil:ignore", "//nolint".
func (d Directive) Name() string {
	if d.Kind == Nolint {
		return "//nolint"
	}
	return "//toil:" + d.Verb
}

// AllRules reports whether d, a nolint, names every linter: bare //nolint,
// //nolint:all, or //nolint:toil (the name golangci-lint gives the plugin).
func (d Directive) AllRules() bool {
	if d.Kind != Nolint {
		return false
	}
	if d.Rules == nil {
		return true
	}
	for _, r := range d.Rules {
		if r == "all" || r == "toil" {
			return true
		}
	}
	return false
}

// Names reports whether d suppresses findings of rule (ignoring placement).
// Spaced and unknown directives suppress nothing.
func (d Directive) Names(rule string) bool {
	if d.Spaced || d.Kind == Unknown {
		return false
	}
	if d.AllRules() {
		return true
	}
	for _, r := range d.Rules {
		if r == rule {
			return true
		}
	}
	return false
}

// cutSpace splits s at its first run of white space, trimming both halves.
func cutSpace(s string) (before, after string) {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, unicode.IsSpace)
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimSpace(s[i:])
}

func startsWithSpace(s string) bool {
	return strings.IndexFunc(s, unicode.IsSpace) == 0
}

// lowerASCII lower-cases only ASCII letters, so that it is idempotent and
// never changes a name's length (rule names are ASCII).
func lowerASCII(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}
