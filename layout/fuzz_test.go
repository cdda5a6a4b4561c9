package layout_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/toilhq/toil/layout"
)

// FuzzParse: whatever the bytes, Parse does not panic or hang, and either
// returns a layout that keeps the promises the rest of toil relies on, or
// errors that name the file, in order. Run it longer with
//
//	go test ./layout -run '^$' -fuzz FuzzParse -fuzztime 1m
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	more, _ := filepath.Glob("testdata/errors/*.yaml")
	for _, file := range append(files, more...) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"",
		"x: &a [*a]\n",
		"name: a\nservices: &s {web: *s}\n",
		"name: a\nservices: {web: &w {<<: *w, run: a.web}}\n",
		"name: a\nservices:\n  web: {<<: [*x], run: a.w}\n",
		"name: a\nx-a: &d {procs: 2}\nservices: {w: {<<: *d, run: a.w, procs: 3}}\n",
		"{? [a]: b}",
		"name: a\nservices: {web: {run: a.web, listen: '[::1]:80'}}\nproxy: {listen: ':80', routes: [{path: /, to: web}]}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := layout.Parse("fuzz.yaml", data)
		if err != nil {
			var errs layout.Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("error is not layout.Errors: %v", err)
			}
			for i, e := range errs {
				if e.File != "fuzz.yaml" || e.Msg == "" || e.Line < 0 || e.Col < 0 {
					t.Fatalf("bad error %+v", e)
				}
				if i > 0 && (errs[i-1].Line > e.Line || errs[i-1].Line == e.Line && errs[i-1].Col > e.Col) {
					t.Fatalf("errors out of order:\n%v", errs)
				}
			}
			return
		}
		if len(l.Services) == 0 || l.Name == "" {
			t.Fatalf("a valid layout without services or name: %+v", l)
		}
		for _, s := range l.Services {
			if s.Procs < 1 || s.Procs > layout.MaxProcs || (s.Run == "") == (s.Main == "") || s.StopTimeout <= 0 || s.ReadyTimeout <= 0 {
				t.Fatalf("service breaks its invariants: %+v", s)
			}
		}
		if p := l.Proxy; p != nil {
			for _, r := range p.Routes {
				if s := l.Service(r.To); s == nil || s.Listen.IsZero() {
					t.Fatalf("route to %q, which is not a listening service", r.To)
				}
			}
		}
		if c := layout.Diff(l, l); !c.Empty() {
			t.Fatalf("Diff with itself: %s", c)
		}
		again, err := layout.Parse("fuzz.yaml", data)
		if err != nil || !reflect.DeepEqual(l, again) {
			t.Fatalf("a second parse differs: %v", err)
		}
		if len(l.StartOrder()) != len(l.Services) {
			t.Fatalf("StartOrder lost services")
		}
	})
}
