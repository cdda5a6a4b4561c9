// Command httpwait is what toil dev's testscripts (testdata/script/dev_*)
// use to wait for what a user would see, since a script cannot loop:
//
//	httpwait port FILE...
//	    replace {{PORT}} in each file with one free loopback port
//	httpwait get [-header 'Name: regexp'] [-noheader Name] [-timeout 90s] toil.yaml PATH REGEXP
//	    GET PATH through the proxy of toil.yaml until the body matches
//	    REGEXP (and the header conditions hold); print the response
//	httpwait retry [-timeout 90s] REGEXP COMMAND [ARG...]
//	    run COMMAND until its standard output matches REGEXP, whatever
//	    its exit status; print that output
//
// It exits 1, saying what it saw last, when the timeout passes.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/toilhq/toil/layout"
)

func main() {
	if len(os.Args) < 2 {
		fail("usage: httpwait port|get|retry ...")
	}
	var err error
	switch os.Args[1] {
	case "port":
		err = port(os.Args[2:])
	case "get":
		err = get(os.Args[2:])
	case "retry":
		err = retry(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fail(err.Error())
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "httpwait:", msg)
	os.Exit(1)
}

func port(files []string) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	p := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if err := os.WriteFile(f, bytes.ReplaceAll(data, []byte("{{PORT}}"), []byte(p)), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// headerFlags collects repeated -header flags.
type headerFlags []string

func (h *headerFlags) String() string     { return strings.Join(*h, ", ") }
func (h *headerFlags) Set(v string) error { *h = append(*h, v); return nil }

func get(args []string) error {
	fs := flag.NewFlagSet("get", flag.ContinueOnError)
	var headers, noHeaders headerFlags
	fs.Var(&headers, "header", "'Name: regexp' the response must have")
	fs.Var(&noHeaders, "noheader", "a header the response must not have")
	timeout := fs.Duration("timeout", 90*time.Second, "how long to wait")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 3 {
		return fmt.Errorf("usage: httpwait get [flags] toil.yaml PATH REGEXP")
	}
	l, err := layout.Load(fs.Arg(0))
	if err != nil {
		return err
	}
	if l.Proxy == nil {
		return fmt.Errorf("%s has no proxy", fs.Arg(0))
	}
	url := "http://" + l.Proxy.Listen.Addr + fs.Arg(1)
	want, err := regexp.Compile(fs.Arg(2))
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(*timeout)
	last := "no response yet"
	for {
		resp, err := client.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = fmt.Sprintf("%s\n%s\n%s", resp.Status, headerText(resp.Header), body)
			if want.Match(body) && headersHold(resp.Header, headers, noHeaders) {
				fmt.Print(last)
				return nil
			}
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("GET %s: no body matching %q (headers %v, not %v) within %s; last:\n%s", url, want, headers, noHeaders, *timeout, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func headersHold(h http.Header, want, not []string) bool {
	for _, w := range want {
		name, re, _ := strings.Cut(w, ":")
		if !regexp.MustCompile(strings.TrimSpace(re)).MatchString(h.Get(name)) || h.Get(name) == "" {
			return false
		}
	}
	for _, n := range not {
		if h.Get(n) != "" {
			return false
		}
	}
	return true
}

func headerText(h http.Header) string {
	var b strings.Builder
	for _, k := range []string{"X-Toil-Stale", "Content-Type"} {
		if v := h.Get(k); v != "" {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	return b.String()
}

func retry(args []string) error {
	fs := flag.NewFlagSet("retry", flag.ContinueOnError)
	timeout := fs.Duration("timeout", 90*time.Second, "how long to wait")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() < 2 {
		return fmt.Errorf("usage: httpwait retry [flags] REGEXP COMMAND [ARG...]")
	}
	want, err := regexp.Compile(fs.Arg(0))
	if err != nil {
		return err
	}
	deadline := time.Now().Add(*timeout)
	for {
		out, _ := exec.Command(fs.Arg(1), fs.Args()[2:]...).CombinedOutput()
		if want.Match(out) {
			os.Stdout.Write(out)
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: no output matching %q within %s; last:\n%s", strings.Join(fs.Args()[1:], " "), want, *timeout, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
