package export

import (
	"fmt"
	"strings"

	"github.com/toilhq/toil/layout"
)

// Procfile renders the layout as a Procfile (foreman, goreman, overmind,
// Heroku): one "name: command" line per service, the worker count in a
// comment and in a formation line for foreman -m, since a Procfile has
// no place for it.
func Procfile(l *layout.Layout, o Options) ([]File, error) {
	var b strings.Builder
	b.WriteString(Header("# ", "a Procfile", o))
	var formation []string
	for _, s := range l.Services {
		formation = append(formation, fmt.Sprintf("%s=%d", s.Name, s.Procs))
	}
	fmt.Fprintf(&b, "# Workers per service: foreman start -m %s\n", strings.Join(formation, ","))
	for _, s := range l.Services {
		b.WriteString("\n")
		note := fmt.Sprintf("# %s: procs %d", s.Name, s.Procs)
		if !s.Listen.IsZero() {
			note += ", listen " + s.Listen.String()
		}
		b.WriteString(note + "\n")
		words := append([]string{Binary(l, s, o)}, s.Args...)
		for i, w := range words {
			words[i] = shellQuote(w)
		}
		fmt.Fprintf(&b, "%s: %s\n", s.Name, strings.Join(words, " "))
	}
	return []File{{Name: "Procfile", Data: []byte(b.String()), Mode: 0o644}}, nil
}

// shellQuote quotes w for sh, which Procfile runners run each line with,
// leaving plain words as they are.
func shellQuote(w string) string {
	if w != "" && strings.Trim(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,@+%") == "" {
		return w
	}
	return "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
}
