// Package framework benchmarks the toil framework as a process: see
// README.md for the command and the recorded results.
package framework

import (
	"bufio"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkIdleRSS starts an idle function service (bench/framework/idle),
// waits for READY=1 on its NOTIFY_SOCKET, reads VmRSS and VmHWM from
// /proc/PID/status and stops it with SIGTERM. "bare" runs it without the
// admin listener; "admin" with it, after one /metrics scrape, as Prometheus
// would. Target: at most 20 MiB resident.
func BenchmarkIdleRSS(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "idle")
	if out, err := exec.Command("go", "build", "-o", bin, "./idle").CombinedOutput(); err != nil {
		b.Fatalf("go build ./idle: %v\n%s", err, out)
	}
	for _, admin := range []bool{false, true} {
		name := "bare"
		if admin {
			name = "admin"
		}
		b.Run(name, func(b *testing.B) {
			var rss, hwm float64
			n := 0
			for b.Loop() {
				r, h := measureIdle(b, bin, admin)
				rss, hwm, n = rss+r, hwm+h, n+1
			}
			b.ReportMetric(rss/float64(n), "VmRSS-MiB")
			b.ReportMetric(hwm/float64(n), "VmHWM-MiB")
		})
	}
}

func measureIdle(b *testing.B, bin string, admin bool) (rss, hwm float64) {
	name := "@toil-bench-" + rand.Text()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	cmd := exec.Command(bin)
	cmd.Env = []string{"NOTIFY_SOCKET=" + name}
	var adminAddr string
	if admin {
		ln, err := net.Listen("tcp", "127.0.0.1:0") // find a free port
		if err != nil {
			b.Fatal(err)
		}
		adminAddr = ln.Addr().String()
		ln.Close()
		cmd.Env = append(cmd.Env, "TOIL_ADMIN_ADDR="+adminAddr)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := false
	defer func() {
		if !exited {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()

	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	buf := make([]byte, 512)
	n, err := conn.Read(buf)
	if err != nil || string(buf[:n]) != "READY=1" {
		b.Fatalf("waiting for READY=1: %q, %v", buf[:n], err)
	}
	if admin {
		resp, err := http.Get("http://" + adminAddr + "/metrics")
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	rss, hwm = procStatus(b, cmd.Process.Pid)
	cmd.Process.Signal(syscall.SIGTERM)
	err = cmd.Wait()
	exited = true
	if err != nil {
		b.Fatalf("idle service after SIGTERM: %v, want exit status 0", err)
	}
	return rss, hwm
}

// procStatus returns VmRSS and VmHWM in MiB.
func procStatus(b *testing.B, pid int) (rss, hwm float64) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		fields := strings.Fields(v)
		if len(fields) == 0 {
			continue
		}
		kb, _ := strconv.ParseFloat(fields[0], 64)
		switch k {
		case "VmRSS":
			rss = kb / 1024
		case "VmHWM":
			hwm = kb / 1024
		}
	}
	return rss, hwm
}
