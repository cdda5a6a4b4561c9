// Command plain is the main: service the supervisor tests run: a plain
// program serving HTTP on $PORT, knowing nothing of toil. A name
// containing "exit" exits at once; "stubborn" ignores SIGTERM.
package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	exe, _ := os.Executable()
	name := filepath.Base(exe)
	if strings.Contains(name, "exit") {
		fmt.Fprintln(os.Stderr, "plain: this build is broken")
		os.Exit(3)
	}
	stopOn := []os.Signal{syscall.SIGTERM, syscall.SIGINT}
	if strings.Contains(name, "stubborn") {
		signal.Ignore(syscall.SIGTERM)
		stopOn = stopOn[1:]
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+os.Getenv("PORT"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "svc=%s worker=%s pid=%d bin=%s", os.Getenv("TOIL_SERVICE"), os.Getenv("TOIL_WORKER"), os.Getpid(), name)
	})}
	fmt.Println("plain: listening on", ln.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), stopOn...)
	defer stop()
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	<-drained // Serve returns as soon as Shutdown starts; requests finish after
}
