// Package new_test measures what issue 6 asks to record: the time from
// `toil new x` to the first request answered by `toil dev` in it, with a
// warm module and build cache.
package new_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	newcmd "github.com/toilhq/toil/internal/cmd/new"
	"github.com/toilhq/toil/internal/cmdutil"
)

// BenchmarkNewToFirstRequest runs `toil new svc` (the http template, with
// git) and then `toil dev` in the new module, until GET /greet/x through
// the service's listen address answers 200. toil new runs in-process (the
// command's own code); toil dev is cmd/toil, built once.
func BenchmarkNewToFirstRequest(b *testing.B) {
	root, err := filepath.Abs("../..")
	if err != nil {
		b.Fatal(err)
	}
	toil := filepath.Join(b.TempDir(), "toil")
	build := exec.Command("go", "build", "-o", toil, "./cmd/toil")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build ./cmd/toil: %v\n%s", err, out)
	}
	var newTotal, devTotal time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dir := filepath.Join(b.TempDir(), "svc")
		start := time.Now()
		var out bytes.Buffer
		f := &cmdutil.Factory{IO: cmdutil.Test(strings.NewReader(""), &out, &out)}
		cmd := newcmd.NewCmdNew(f, nil)
		cmd.SetArgs([]string{"svc", "--module", "example.com/bench/svc", "--dir", dir, "--toil-source", root})
		if err := cmd.Execute(); err != nil {
			b.Fatalf("toil new: %v\n%s", err, out.String())
		}
		generated := time.Now()
		port := freePort(b)
		setPort(b, filepath.Join(dir, "toil.yaml"), port)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		dev := exec.CommandContext(ctx, toil, "dev")
		dev.Dir = dir
		dev.Env = append(os.Environ(), "NO_COLOR=1", "GOWORK=off")
		var devOut bytes.Buffer
		dev.Stdout, dev.Stderr = &devOut, &devOut
		dev.Cancel = func() error { return dev.Process.Signal(syscall.SIGINT) }
		if err := dev.Start(); err != nil {
			b.Fatal(err)
		}
		url := "http://127.0.0.1:" + port + "/greet/x"
		for {
			resp, err := http.Get(url)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			if ctx.Err() != nil {
				b.Fatalf("no answer from %s within 3m:\n%s", url, devOut.String())
			}
			time.Sleep(5 * time.Millisecond) // a benchmark's poll, not a test's wait
		}
		answered := time.Now()
		b.StopTimer()
		newTotal += generated.Sub(start)
		devTotal += answered.Sub(generated)
		_ = dev.Process.Signal(syscall.SIGINT)
		_ = dev.Wait()
		cancel()
		b.StartTimer()
	}
	b.ReportMetric(float64(newTotal.Milliseconds())/float64(b.N), "new-ms/op")
	b.ReportMetric(float64(devTotal.Milliseconds())/float64(b.N), "dev-to-answer-ms/op")
}

func freePort(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// setPort moves the generated service off 8080, which another run may hold.
func setPort(b *testing.B, path, port string) {
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	data = bytes.Replace(data, []byte("127.0.0.1:8080"), []byte("127.0.0.1:"+port), 1)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
}
