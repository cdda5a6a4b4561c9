package export_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/toilhq/toil/export"
	"github.com/toilhq/toil/layout"
)

// tool returns the path of a program the test runs, failing with how to
// install it: these tests are the proof the exports work.
func tool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed (apt-get install %s): %v", name, pkg, err)
	}
	return p
}

// TestSystemdVerify runs systemd-analyze verify on every generated unit:
// no error and no warning, with the binaries in place as on a server.
func TestSystemdVerify(t *testing.T) {
	t.Parallel()
	analyze := tool(t, "systemd-analyze", "systemd")
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	l := load(t, "testdata/full/toil.yaml")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, s := range l.Services {
		if err := os.WriteFile(filepath.Join(bin, export.BinaryName(l, s)), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	o := opts
	o.BinDir = bin
	files, err := export.Systemd(l, o)
	if err != nil {
		t.Fatal(err)
	}
	units := filepath.Join(dir, "units")
	if err := export.WriteDir(units, files); err != nil {
		t.Fatal(err)
	}
	var args []string
	names := map[string]bool{}
	for _, f := range files {
		names[f.Name] = true
		if f.Name != "enable.sh" {
			args = append(args, filepath.Join(units, f.Name))
		}
	}
	for _, want := range []string{"shop-web.socket", "shop-web@.service", "shop-api.socket", "shop-worker@.service", "shop-legacy@.service", "shop.target", "enable.sh"} {
		if !names[want] {
			t.Errorf("no %s among %v", want, names)
		}
	}
	if names["shop-worker.socket"] || names["shop-legacy.socket"] {
		t.Errorf("a socket unit for a service that listens nowhere or is a main package: %v", names)
	}
	cmd := exec.Command(analyze, append([]string{"verify", "--man=no"}, args...)...)
	cmd.Dir = units
	out, err := cmd.CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}

	// The same check fails on a broken unit, so the pass above means something.
	broken := filepath.Join(dir, "broken@.service")
	data, _ := os.ReadFile(filepath.Join(units, "shop-web@.service"))
	if err := os.WriteFile(broken, []byte(strings.Replace(string(data), "Type=notify", "Type=notifyy", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _ = exec.Command(analyze, "verify", "--man=no", broken).CombinedOutput()
	if !strings.Contains(string(out), "notifyy") {
		t.Errorf("systemd-analyze verify said nothing of a bad Type=:\n%s", out)
	}

	script, _ := os.ReadFile(filepath.Join(units, "enable.sh"))
	for _, want := range []string{
		"systemctl enable --now shop-web.socket shop-api.socket\n",
		"systemctl enable --now shop-web@1.service shop-web@2.service shop-web@3.service\n",
		"systemctl enable --now shop.target\n",
	} {
		if !strings.Contains(string(script), want) {
			t.Errorf("enable.sh lacks %q:\n%s", want, script)
		}
	}
	if out, err := exec.Command("sh", "-n", filepath.Join(units, "enable.sh")).CombinedOutput(); err != nil {
		t.Errorf("sh -n enable.sh: %v\n%s", err, out)
	}
}

// nginxConf wraps the export in the smallest nginx.conf that runs from dir
// as an unprivileged prefix.
func nginxConf(t *testing.T, dir string, files []export.File) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, files[0].Name), files[0].Data, 0o644); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`pid %[1]s/nginx.pid;
error_log stderr;
worker_processes 1;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    include %[1]s/%[2]s;
}
`, dir, files[0].Name)
	p := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(p, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNginxSyntax(t *testing.T) {
	t.Parallel()
	nginx := tool(t, "nginx", "nginx")
	files, err := export.Nginx(load(t, "testdata/full/toil.yaml"), opts)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	conf := nginxConf(t, dir, files)
	out, err := exec.Command(nginx, "-e", "stderr", "-p", dir, "-t", "-c", conf).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "test is successful") || strings.Contains(string(out), "[warn]") {
		t.Errorf("nginx -t: %v\n%s", err, out)
	}
}

// TestNginxRoutes puts a real nginx, configured by the export, in front of
// two HTTP servers and checks each request reaches the service and path
// the dev proxy would send it to, with the same headers.
func TestNginxRoutes(t *testing.T) {
	t.Parallel()
	nginx := tool(t, "nginx", "nginx")
	backend := func(name string) *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "%s %s host=%s xff=%s xfh=%s xfp=%s prefix=%s", name, r.URL.RequestURI(), r.Host,
				r.Header.Get("X-Forwarded-For"), r.Header.Get("X-Forwarded-Host"), r.Header.Get("X-Forwarded-Proto"), r.Header.Get("X-Forwarded-Prefix"))
		}))
		t.Cleanup(s.Close)
		return s
	}
	web, api := backend("web"), backend("api")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	proxyAddr := ln.Addr().String()
	ln.Close() // nginx binds it; a port taken in between fails the start below, loudly
	l, err := layout.Parse("toil.yaml", []byte(fmt.Sprintf(`
name: shop
services:
  web: {run: shop.web, procs: 2, listen: %q}
  api: {run: shop.api, listen: %q}
proxy:
  listen: %q
  routes: [{path: /, to: web}, {path: /api, to: api, strip_prefix: true}, {path: /api/v2, to: web}]
`, web.Listener.Addr(), api.Listener.Addr(), proxyAddr)))
	if err != nil {
		t.Fatal(err)
	}
	files, err := export.Nginx(l, opts)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	conf := nginxConf(t, dir, files)
	cmd := exec.Command(nginx, "-e", "stderr", "-p", dir, "-c", conf, "-g", "daemon off;")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		// SIGQUIT: nginx's graceful stop; the master waits for its workers.
		_ = cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})

	// Ready once nginx accepts on the proxy address, or failed if it exits.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", proxyAddr)
		if err == nil {
			c.Close()
			break
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("nginx exited: %v\n%s", err, stderr.String())
		case <-ctx.Done():
			t.Fatalf("nginx did not listen on %s: %v\n%s", proxyAddr, err, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}

	host := "shop.example:8000"
	for path, want := range map[string]string{
		"/":               "web / ",
		"/index.html?q=1": "web /index.html?q=1 ",
		"/apix":           "web /apix ",
		"/api":            "api / ",
		"/api/users?id=7": "api /users?id=7 ",
		"/api/v2/items":   "web /api/v2/items ",
	} {
		req, _ := http.NewRequest("GET", "http://"+proxyAddr+path, nil)
		req.Host = host
		req.Header.Set("X-Forwarded-For", "203.0.113.9")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got := string(body)
		if !strings.HasPrefix(got, want) {
			t.Errorf("GET %s reached %q, want %q...", path, got, want)
		}
		if !strings.Contains(got, "host="+host+" xff=203.0.113.9, 127.0.0.1 xfh="+host+" xfp=http") {
			t.Errorf("GET %s: headers %q, want Host kept and X-Forwarded-* as the dev proxy sets them", path, got)
		}
		stripped := strings.HasPrefix(path, "/api") && !strings.HasPrefix(path, "/api/v2") && path != "/apix"
		if hasPrefix := strings.HasSuffix(got, "prefix=/api"); hasPrefix != stripped {
			t.Errorf("GET %s: %q, want X-Forwarded-Prefix /api only where the prefix was stripped", path, got)
		}
	}
}
