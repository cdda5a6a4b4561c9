package export_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toilhq/toil/export"
	"github.com/toilhq/toil/export/k8s"
	"github.com/toilhq/toil/layout"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/full")

// opts are the golden files' options: a fixed version so they do not
// change with every commit.
var opts = export.Options{Source: "toil.yaml", Version: "v0.0.0-test"}

func load(t *testing.T, path string) *layout.Layout {
	t.Helper()
	l, err := layout.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func parse(t *testing.T, src string) *layout.Layout {
	t.Helper()
	l, err := layout.Parse(filepath.Join(t.TempDir(), "toil.yaml"), []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

type exporter func(*layout.Layout, export.Options) ([]export.File, error)

func k8sExport(l *layout.Layout, o export.Options) ([]export.File, error) {
	return k8s.Export(l, k8s.Options{Options: o, Image: "registry.example.com/shop:v1"})
}

var targets = map[string]exporter{
	"systemd":  export.Systemd,
	"nginx":    export.Nginx,
	"k8s":      k8sExport,
	"procfile": export.Procfile,
}

// TestGolden pins every target's output for a layout using every feature,
// and checks that a second run gives the same bytes.
func TestGolden(t *testing.T) {
	t.Parallel()
	for name, fn := range targets {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l := load(t, "testdata/full/toil.yaml")
			if name == "k8s" {
				// A standard Ingress cannot strip a prefix (see TestUnexpressible).
				l.Proxy.Routes[1].StripPrefix = false
			}
			files, err := fn(l, opts)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := export.WriteTo(&got, files); err != nil {
				t.Fatal(err)
			}
			again, err := fn(load(t, "testdata/full/toil.yaml"), opts)
			if name == "k8s" {
				l2 := load(t, "testdata/full/toil.yaml")
				l2.Proxy.Routes[1].StripPrefix = false
				again, err = fn(l2, opts)
			}
			if err != nil {
				t.Fatal(err)
			}
			var second bytes.Buffer
			_ = export.WriteTo(&second, again)
			if !bytes.Equal(got.Bytes(), second.Bytes()) {
				t.Errorf("two runs gave different output:\n%s\n----\n%s", got.Bytes(), second.Bytes())
			}
			golden := filepath.Join("testdata", "full", name+".golden")
			if *update {
				if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./export -update to write it)", err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("%s differs from the export (go test ./export -update rewrites it); got:\n%s", golden, got.Bytes())
			}
		})
	}
}

// TestUnexpressible checks that what a target cannot do is an error
// naming the target and the service, with a way out.
func TestUnexpressible(t *testing.T) {
	t.Parallel()
	cases := []struct {
		target, yaml, service, says string
	}{
		{"nginx", `
name: shop
services: {web: {run: shop.web, listen: auto}}
proxy: {listen: "127.0.0.1:8000", routes: [{path: /, to: web}]}
`, "web", "listen: auto"},
		{"systemd", `
name: shop
services: {web: {run: shop.web, listen: auto}}
`, "web", "give the service a fixed address"},
		{"systemd", `
name: shop
services: {web: {run: shop.web, listen: "unix:run/web.sock"}}
`, "web", "use an absolute path"},
		{"nginx", `
name: shop
services: {web: {run: shop.web, listen: "unix:run/web.sock"}}
proxy: {listen: "127.0.0.1:8000", routes: [{path: /, to: web}]}
`, "web", "use an absolute path"},
		{"systemd", `
name: shop
services: {legacy: {main: ./cmd/legacy, procs: 2, listen: "127.0.0.1:8083"}}
`, "legacy", "only one of its 2 workers could listen"},
		{"k8s", `
name: shop
services: {api: {run: shop.api, listen: "127.0.0.1:8082"}}
proxy: {listen: "127.0.0.1:8000", routes: [{path: /api, to: api, strip_prefix: true}]}
`, "api", "a standard Ingress cannot"},
		{"k8s", `
name: shop
services: {web: {run: shop.web, listen: "unix:/run/web.sock"}}
`, "web", "a pod is reached over TCP"},
		{"k8s", `
name: shop
services: {web: {run: shop.web, config: [missing.yaml]}}
`, "web", "config missing.yaml goes into a ConfigMap, but it cannot be read"},
		{"nginx", `
name: shop
services: {web: {run: shop.web}}
`, "shop", "no proxy: section"},
	}
	for _, c := range cases {
		t.Run(c.target+"/"+c.says, func(t *testing.T) {
			t.Parallel()
			files, err := targets[c.target](parse(t, c.yaml), opts)
			var ee *export.Error
			if !errors.As(err, &ee) {
				t.Fatalf("got files %v and error %v, want an *export.Error", files, err)
			}
			if ee.Target != c.target || ee.Service != c.service || !strings.Contains(err.Error(), c.says) {
				t.Errorf("error %q (target %q, service %q), want target %q, service %q, saying %q", err, ee.Target, ee.Service, c.target, c.service, c.says)
			}
			if !strings.Contains(err.Error(), "service "+c.service) || !strings.Contains(err.Error(), c.target) {
				t.Errorf("error %q does not name the service and the target", err)
			}
		})
	}
}

func TestWriteDir(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "out")
	first := []export.File{{Name: "a.service", Data: []byte("# Generated by toil v1 from toil.yaml: a.\n"), Mode: 0o644}, {Name: "enable.sh", Data: []byte("#!/bin/sh\n# Generated by toil v1 from toil.yaml: b.\n"), Mode: 0o755}}
	if err := export.WriteDir(dir, first); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "enable.sh"))
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("enable.sh: %v, mode %v; want an executable script", err, fi.Mode())
	}

	// A second export replaces the first whole: a unit it no longer
	// writes is gone.
	if err := export.WriteDir(dir, []export.File{{Name: "b.service", Data: []byte("# Generated by toil v1 from toil.yaml: b.\n"), Mode: 0o644}}); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != "b.service" {
		t.Errorf("after the second export the directory holds %v, want only b.service", ents)
	}

	// A directory holding something else is not an export to replace.
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = export.WriteDir(other, first)
	if err == nil || !strings.Contains(err.Error(), "notes.txt") {
		t.Errorf("WriteDir into a directory with notes.txt: %v, want an error naming it", err)
	}
	if data, _ := os.ReadFile(filepath.Join(other, "notes.txt")); string(data) != "mine" {
		t.Errorf("notes.txt is now %q", data)
	}
	if _, err := os.Stat(filepath.Join(other, "a.service")); err == nil {
		t.Errorf("a.service was written despite the error")
	}
	// No temporary directory is left beside it.
	parent, _ := os.ReadDir(filepath.Dir(other))
	for _, e := range parent {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("left behind %s", e.Name())
		}
	}
}
