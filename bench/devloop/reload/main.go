// Command reload measures save-to-serving latency, side by side in one
// run: the plain `go build` of the change, toil dev, and (given -air) air
// with its default config and with delay = 1 ms. See ../README.md.
//
//	go run ./bench/devloop/reload -n 10 -air $(go env GOPATH)/bin/air
//
// It writes a small HTTP sample (a plain main package reading PORT) to a
// temp dir, and for each tool edits a one-line constant n times while 8
// clients send about 800 requests/s; the latency of an edit is from the
// file's write to the first response showing the new constant. Failed
// requests (errors and non-200 answers) are counted for each tool.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/toilhq/toil/devloop"
	"github.com/toilhq/toil/devloop/ui"
	"github.com/toilhq/toil/internal/shim"
)

func main() {
	// Workers start through this binary, as they do through toil.
	if shim.Invoked(os.Args[1:]) {
		shim.Main(os.Args[1:])
	}
	n := flag.Int("n", 10, "edits per tool")
	air := flag.String("air", "", "the air binary; empty skips air")
	clients := flag.Int("clients", 8, "concurrent clients")
	idle := flag.Int("idle", 0, "instead: measure idle toil dev over a tree of this many files")
	flag.Parse()
	var err error
	if *idle > 0 {
		err = idleRun(*idle)
	} else {
		err = run(*n, *air, *clients)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "reload:", err)
		os.Exit(1)
	}
}

const mainSrc = `package main

import (
	"fmt"
	"net/http"
	"os"
)

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "version %s\n", Version)
	})
	if err := http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
`

// result is one tool's run.
type result struct {
	name      string
	latencies []time.Duration
	requests  int
	failed    int
	firstFail string
}

func run(n int, air string, clients int) error {
	dir, err := os.MkdirTemp("", "reload-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	files := map[string]string{
		"go.mod":     "module example.com/sample\n\ngo 1.26\n",
		"main.go":    mainSrc,
		"version.go": version(0),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			return err
		}
	}
	fmt.Printf("go %s, %d edits per tool, %d clients\n", goVersion(), n, clients)

	var results []result
	r, err := plainBuild(dir, n)
	if err != nil {
		return err
	}
	results = append(results, r)
	r, err = toilDev(dir, n, clients)
	if err != nil {
		return err
	}
	results = append(results, r)
	if air != "" {
		for _, delay := range []string{"", "1"} {
			r, err := airRun(dir, air, delay, n, clients)
			if err != nil {
				return err
			}
			results = append(results, r)
		}
	}
	fmt.Printf("\n%-24s %8s %8s %8s %8s %10s\n", "tool", "p50", "p90", "min", "max", "failed")
	for _, r := range results {
		s := slices.Clone(r.latencies)
		slices.Sort(s)
		failed := "-"
		if r.requests > 0 {
			failed = fmt.Sprintf("%d/%d", r.failed, r.requests)
		}
		fmt.Printf("%-24s %8s %8s %8s %8s %10s\n", r.name, ms(pct(s, 50)), ms(pct(s, 90)), ms(s[0]), ms(s[len(s)-1]), failed)
		if r.firstFail != "" {
			fmt.Printf("  first failure: %s\n", r.firstFail)
		}
	}
	return nil
}

var edit int

// version is the sample's version.go at edit i.
func version(i int) string {
	return fmt.Sprintf("package main\n\nconst Version = \"v%d\"\n", i)
}

// nextEdit writes the next version and returns its name and write time.
func nextEdit(dir string) (string, time.Time, error) {
	edit++
	v := fmt.Sprintf("v%d", edit)
	start := time.Now()
	return v, start, os.WriteFile(filepath.Join(dir, "version.go"), []byte(version(edit)), 0o644)
}

func plainBuild(dir string, n int) (result, error) {
	r := result{name: "go build (the change)"}
	out := filepath.Join(os.TempDir(), fmt.Sprintf("reload-bench-plain-%d", os.Getpid()))
	defer os.Remove(out)
	build := func() (time.Duration, error) {
		start := time.Now()
		cmd := exec.Command("go", "build", "-o", out, ".")
		cmd.Dir = dir
		b, err := cmd.CombinedOutput()
		if err != nil {
			return 0, fmt.Errorf("go build: %v\n%s", err, b)
		}
		return time.Since(start), nil
	}
	if _, err := build(); err != nil { // warm
		return r, err
	}
	for range n {
		if _, _, err := nextEdit(dir); err != nil {
			return r, err
		}
		d, err := build()
		if err != nil {
			return r, err
		}
		r.latencies = append(r.latencies, d)
	}
	return r, nil
}

// load is clients sending requests to url, recording when each version was
// first seen.
type load struct {
	mu        sync.Mutex
	seen      map[string]time.Time
	requests  int
	failed    int
	firstFail string
	changed   chan struct{}
	stop      context.CancelFunc
	wg        sync.WaitGroup
}

func startLoad(url string, clients int) *load {
	ctx, cancel := context.WithCancel(context.Background())
	l := &load{seen: map[string]time.Time{}, changed: make(chan struct{}), stop: cancel}
	for range clients {
		l.wg.Go(func() {
			client := &http.Client{Timeout: 10 * time.Second}
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			for ctx.Err() == nil {
				<-tick.C
				resp, err := client.Get(url)
				var body []byte
				if err == nil {
					body, err = io.ReadAll(resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != 200 {
						err = errors.New(resp.Status + ": " + strings.TrimSpace(string(body)))
					}
				}
				now := time.Now()
				l.mu.Lock()
				if ctx.Err() == nil {
					l.requests++
					if err != nil {
						l.failed++
						if l.firstFail == "" {
							l.firstFail = err.Error()
						}
					} else if v, ok := strings.CutPrefix(strings.TrimSpace(string(body)), "version "); ok {
						if _, ok := l.seen[v]; !ok {
							l.seen[v] = now
							close(l.changed)
							l.changed = make(chan struct{})
						}
					}
				}
				l.mu.Unlock()
			}
		})
	}
	return l
}

// wait returns when version v was first seen.
func (l *load) wait(v string, timeout time.Duration) (time.Time, error) {
	deadline := time.After(timeout)
	for {
		l.mu.Lock()
		t, ok := l.seen[v]
		ch := l.changed
		l.mu.Unlock()
		if ok {
			return t, nil
		}
		select {
		case <-ch:
		case <-deadline:
			return time.Time{}, fmt.Errorf("version %s not served within %s", v, timeout)
		}
	}
}

func (l *load) end(r *result) {
	l.stop()
	l.wg.Wait()
	r.requests, r.failed, r.firstFail = l.requests, l.failed, l.firstFail
}

// edits makes n edits, each once the previous one serves and the system
// settled, and records the latencies.
func edits(dir string, l *load, n int, r *result) error {
	for range n {
		time.Sleep(500 * time.Millisecond)
		v, start, err := nextEdit(dir)
		if err != nil {
			return err
		}
		seen, err := l.wait(v, 60*time.Second)
		if err != nil {
			return fmt.Errorf("%s: %w", r.name, err)
		}
		r.latencies = append(r.latencies, seen.Sub(start))
		fmt.Printf("  %s %s %s\n", r.name, v, ms(seen.Sub(start)))
	}
	return nil
}

func toilDev(dir string, n, clients int) (result, error) {
	r := result{name: "toil dev"}
	proxy, err := freeAddr()
	if err != nil {
		return r, err
	}
	yml := fmt.Sprintf("name: sample\nservices:\n  sample: {main: ./, listen: auto}\nproxy:\n  listen: %q\n  routes: [{path: /, to: sample}]\n", proxy)
	if err := os.WriteFile(filepath.Join(dir, "toil.yaml"), []byte(yml), 0o644); err != nil {
		return r, err
	}
	defer os.Remove(filepath.Join(dir, "toil.yaml"))
	defer os.RemoveAll(filepath.Join(dir, ".toil"))
	logf, err := os.Create(filepath.Join(os.TempDir(), "reload-bench-toil.log"))
	if err != nil {
		return r, err
	}
	defer logf.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- devloop.Run(ctx, devloop.Options{Dir: dir, UI: ui.New(logf, ui.Options{}), OnReady: func() { close(ready) }})
	}()
	select {
	case <-ready:
	case err := <-done:
		return r, fmt.Errorf("toil dev: %v", err)
	}
	l := startLoad("http://"+proxy+"/", clients)
	if _, err := l.wait(fmt.Sprintf("v%d", edit), time.Minute); err != nil {
		l.end(&r)
		cancel()
		<-done
		return r, err
	}
	err = edits(dir, l, n, &r)
	l.end(&r)
	cancel()
	if derr := <-done; derr != nil && err == nil {
		err = derr
	}
	return r, err
}

func airRun(dir, air, delay string, n, clients int) (result, error) {
	r := result{name: "air (default config)"}
	conf := filepath.Join(dir, ".air.toml")
	if delay != "" {
		r.name = "air (delay = " + delay + " ms)"
		if err := os.WriteFile(conf, []byte("[build]\ndelay = "+delay+"\n"), 0o644); err != nil {
			return r, err
		}
		defer os.Remove(conf)
	}
	addr, err := freeAddr()
	if err != nil {
		return r, err
	}
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(air)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PORT="+port)
	logf, err := os.Create(filepath.Join(os.TempDir(), "reload-bench-air.log"))
	if err != nil {
		return r, err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	// air and the app it starts in one group of ours, to be sure both go.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return r, err
	}
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
		t := time.AfterFunc(5*time.Second, func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
		_ = cmd.Wait()
		t.Stop()
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		os.RemoveAll(filepath.Join(dir, "tmp"))
	}()
	l := startLoad("http://"+addr+"/", clients)
	if _, err := l.wait(fmt.Sprintf("v%d", edit), time.Minute); err != nil {
		l.end(&r)
		return r, fmt.Errorf("%s: %w", r.name, err)
	}
	// Requests before the app first served are not air's failures.
	l.mu.Lock()
	l.requests, l.failed, l.firstFail = 0, 0, ""
	l.mu.Unlock()
	err = edits(dir, l, n, &r)
	l.end(&r)
	return r, err
}

// idleRun starts toil dev on the sample with files more files in 100
// directories, lets it settle, then measures its CPU over 30 s of idling
// and its resident memory. toil dev runs in this process, so the figures
// are toil dev's own (its workers are other processes).
func idleRun(files int) error {
	dir, err := os.MkdirTemp("", "reload-bench-idle-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for name, data := range map[string]string{"go.mod": "module example.com/sample\n\ngo 1.26\n", "main.go": mainSrc, "version.go": version(0)} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			return err
		}
	}
	for i := range files {
		sub := filepath.Join(dir, "assets", fmt.Sprintf("d%02d", i%100))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%05d.txt", i)), []byte(fmt.Sprintf("file %d\n", i)), 0o644); err != nil {
			return err
		}
	}
	proxy, err := freeAddr()
	if err != nil {
		return err
	}
	yml := fmt.Sprintf("name: sample\nservices:\n  sample: {main: ./, listen: auto}\nproxy:\n  listen: %q\n  routes: [{path: /, to: sample}]\n", proxy)
	if err := os.WriteFile(filepath.Join(dir, "toil.yaml"), []byte(yml), 0o644); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- devloop.Run(ctx, devloop.Options{Dir: dir, UI: ui.New(io.Discard, ui.Options{}), OnReady: func() { close(ready) }})
	}()
	select {
	case <-ready:
	case err := <-done:
		return fmt.Errorf("toil dev: %v", err)
	}
	time.Sleep(5 * time.Second) // the first build's and start's garbage collected
	cpu0, wall0 := cpuTime(), time.Now()
	time.Sleep(30 * time.Second)
	cpu, wall := cpuTime()-cpu0, time.Since(wall0)
	fmt.Printf("toil dev idle over %d files: %.3f%% of a core over %s, %s resident\n",
		files, 100*cpu.Seconds()/wall.Seconds(), wall.Round(time.Second), rss())
	cancel()
	return <-done
}

// cpuTime is this process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rss is this process's resident set size, from /proc.
func rss() string {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func pct(s []time.Duration, p int) time.Duration {
	return s[(len(s)-1)*p/100]
}

func ms(d time.Duration) string { return fmt.Sprintf("%dms", d.Milliseconds()) }

func goVersion() string {
	out, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(out))
}
