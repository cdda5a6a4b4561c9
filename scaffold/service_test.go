package scaffold_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/toilhq/toil/layout"
	"github.com/toilhq/toil/scaffold"
)

const existingLayout = `# The processes of shop.
name: shop
services:
  # the storefront
  web: {run: web.server, listen: "127.0.0.1:8080", config: [toil.config.yaml]}
backing:
  nats: {embedded: nats} # shared by every queue
`

const existingConfig = `# shop's config
web.server:
  greeting: hi # not hello
`

func writeModule(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for name, data := range map[string]string{
		"go.mod":           "module example.com/shop\n\ngo 1.26.0\n",
		"toil.yaml":        existingLayout,
		"toil.config.yaml": existingConfig,
		"web/server.go":    "package web\n\n// Server is the storefront.\ntype Server struct{}\n",
	} {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// toil new service adds the package, and edits toil.yaml and
// toil.config.yaml keeping what was there: comments, order, the backing
// the services share.
func TestAddService(t *testing.T) {
	t.Parallel()
	root := writeModule(t)
	files, err := scaffold.AddService(scaffold.ServiceSpec{Root: root, Module: "example.com/shop", Pkg: "internal/billing",
		Name: "invoicer", Template: "http", With: []string{"queue,redis"}})
	if err != nil {
		t.Fatal(err)
	}
	src := file(t, files, "internal/billing/server.go")
	if !strings.Contains(src, "package billing") || !strings.Contains(src, "type Invoicer struct") || !strings.Contains(src, "Redis redis.Client") {
		t.Errorf("internal/billing/server.go:\n%s", src)
	}
	lay := file(t, files, "toil.yaml")
	for _, want := range []string{"# The processes of shop.\n", "  # the storefront\n", "# shared by every queue",
		"  billing-invoicer:\n    run: internal/billing.invoicer\n    listen: \"127.0.0.1:8081\"\n    config: [toil.config.yaml]\n",
		"  redis: {cmd: \"redis-server --port {port} --save ''\", fallback: embedded}\n"} {
		if !strings.Contains(lay, want) {
			t.Errorf("toil.yaml lacks %q:\n%s", want, lay)
		}
	}
	if strings.Index(lay, "web:") > strings.Index(lay, "billing-invoicer:") || strings.Count(lay, "nats:") != 1 {
		t.Errorf("toil.yaml: order changed or nats added twice:\n%s", lay)
	}
	l, err := layout.Parse("toil.yaml", []byte(lay))
	if err != nil {
		t.Fatalf("toil.yaml does not parse: %v\n%s", err, lay)
	}
	if len(l.Services) != 2 {
		t.Errorf("services = %d, want 2", len(l.Services))
	}
	cfg := file(t, files, "toil.config.yaml")
	for _, want := range []string{"# shop's config\n", "greeting: hi # not hello\n", "billing-invoicer:\n  greeting: hello\n", "  redis:\n", "  out: {backend: nats, topic: billing.out}\n"} {
		if !strings.Contains(cfg, want) {
			t.Errorf("toil.config.yaml lacks %q:\n%s", want, cfg)
		}
	}
}

func TestAddServiceRefuses(t *testing.T) {
	t.Parallel()
	root := writeModule(t)
	for _, tc := range []struct {
		pkg, name, tmpl, want string
	}{
		{"web", "server", "http", "web/server.go exists"},
		{"web", "poller", "worker", ""}, // no clash: worker.go, Worker, Config beside Server
		{"../x", "run", "func", "is not a package directory inside the module"},
		{"/abs", "run", "func", "is not a package directory inside the module"},
		{"Billing", "run", "func", "use lowercase letters"},
		{"billing", "9x", "func", "is not a Go identifier"},
		{"billing", "run", "grpc", `unknown template "grpc"`},
	} {
		_, err := scaffold.AddService(scaffold.ServiceSpec{Root: root, Module: "example.com/shop", Pkg: tc.pkg, Name: tc.name, Template: tc.tmpl})
		var ie *scaffold.InputError
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s.%s: %v", tc.pkg, tc.name, err)
		case tc.want != "" && (!errors.As(err, &ie) || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s.%s (%s) = %v, want an InputError containing %q", tc.pkg, tc.name, tc.tmpl, err, tc.want)
		}
	}
	// --force leaves web/server.go as it is instead of refusing it: the
	// command's plan then reports it as a conflict, never overwritten.
	if _, err := scaffold.AddService(scaffold.ServiceSpec{Root: root, Module: "example.com/shop", Pkg: "web", Name: "front", Template: "http", Force: true}); err != nil {
		t.Errorf("--force over web/server.go: %v", err)
	}
	// A service whose config section is there already.
	if err := os.WriteFile(filepath.Join(root, "toil.config.yaml"), []byte(existingConfig+"billing.poller: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := scaffold.AddService(scaffold.ServiceSpec{Root: root, Module: "example.com/shop", Pkg: "billing", Name: "poller", Template: "worker"})
	if err == nil || !strings.Contains(err.Error(), "already has a section billing.poller") {
		t.Errorf("section billing.poller taken: %v", err)
	}
	// A name declared twice.
	if err := os.WriteFile(filepath.Join(root, "web", "config.go"), []byte("package web\n\ntype Config struct{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = scaffold.AddService(scaffold.ServiceSpec{Root: root, Module: "example.com/shop", Pkg: "web", Name: "poller", Template: "worker"})
	if err == nil || !strings.Contains(err.Error(), "package web already declares Config (web/config.go)") {
		t.Errorf("clash: %v", err)
	}
}

// toil new service events.logger --template consumer --with queue: its in:
// reads the NATS toil.yaml runs, where the other services publish.
func TestAddServiceQueueConsumerReadsNATS(t *testing.T) {
	t.Parallel()
	root := writeModule(t)
	files, err := scaffold.AddService(scaffold.ServiceSpec{Root: root, Module: "example.com/shop", Pkg: "events",
		Name: "logger", Template: "consumer", With: []string{"queue"}})
	if err != nil {
		t.Fatal(err)
	}
	if in := inEndpoint(t, file(t, files, "toil.config.yaml"), "events-logger"); in["backend"] != "nats" || in["url"] != "" {
		t.Errorf("in: %v, want backend nats and no url", in)
	}
}
