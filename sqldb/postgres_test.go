package sqldb_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/toilhq/toil"
	"github.com/toilhq/toil/sqldb"
	"github.com/toilhq/toil/toiltest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pg.stop()
	os.Exit(code)
}

// pg is the Postgres server the tests share: TOIL_TEST_POSTGRES_URL's, or
// one started on first use and stopped by TestMain.
var pg postgres

type postgres struct {
	once  sync.Once
	url   string // an admin URL; each test gets a database of its own
	skip  string // why there is no server
	err   error
	cmd   *exec.Cmd
	done  chan struct{}
	dir   string
	admin *sql.DB
}

// postgresDB returns the URL of a fresh database for t, dropped when t
// ends. It skips t, saying why, only when there is no Postgres to use.
func postgresDB(t *testing.T) string {
	t.Helper()
	pg.once.Do(pg.start)
	if pg.skip != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("no Postgres in CI: %s", pg.skip)
		}
		t.Skip(pg.skip)
	}
	if pg.err != nil {
		t.Fatalf("postgres: %v", pg.err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "toil_test_" + hex.EncodeToString(b)
	ctx := context.Background()
	if _, err := pg.admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if _, err := pg.admin.ExecContext(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, _ := url.Parse(pg.url)
	u.Path = "/" + name
	return u.String()
}

func (p *postgres) start() {
	if u := os.Getenv("TOIL_TEST_POSTGRES_URL"); u != "" {
		p.url = u
	} else if p.err = p.startServer(); p.err != nil || p.skip != "" {
		return
	}
	p.admin, p.err = sql.Open("pgx", p.url)
	if p.err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		p.err = p.admin.PingContext(ctx)
	}
}

// startServer runs initdb and postgres from the newest
// /usr/lib/postgresql/*/bin, as the postgres user when the tests run as
// root (postgres refuses root), on a free loopback port with its socket
// in its own temp dir.
func (p *postgres) startServer() error {
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	if len(bins) == 0 {
		p.skip = "no Postgres: set TOIL_TEST_POSTGRES_URL, or install postgresql (apt-get install postgresql) so the tests can start their own; CI does"
		return nil
	}
	bin := filepath.Dir(bins[len(bins)-1]) // the newest major version, as the glob sorts

	var cred *syscall.Credential
	owner := -1
	var gid int
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return fmt.Errorf("running as root needs the postgres user to run the server as: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		owner = uid
	}
	// Not t.TempDir: its parent is private to root, and the server must
	// reach its files as postgres.
	dir, err := os.MkdirTemp("", "toil-pg-")
	if err != nil {
		return err
	}
	p.dir = dir
	if owner >= 0 {
		if err := os.Chown(dir, owner, gid); err != nil {
			return err
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
	initdb.Dir = dir
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	// postgres itself, not pg_ctl, so that it is our child: it dies with
	// the test binary (Pdeathsig) and its own children follow it.
	cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="+dir,
		"-c", "fsync=off", "-c", "full_page_writes=off", "-c", "synchronous_commit=off")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
	cmd.Dir = dir
	out, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	p.cmd, p.done = cmd, make(chan struct{})
	ready := make(chan error, 1)
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(out)
		var tail []string
		signalled := false
		for sc.Scan() {
			if signalled {
				continue // keep draining, or the server blocks on a full pipe
			}
			tail = append(tail, sc.Text())
			if strings.Contains(sc.Text(), "database system is ready to accept connections") {
				ready <- nil
				signalled = true
			}
		}
		_, _ = io.Copy(io.Discard, out)
		_ = cmd.Wait()
		if !signalled {
			ready <- fmt.Errorf("postgres exited before it was ready:\n%s", strings.Join(tail, "\n"))
		}
	}()
	select {
	case err := <-ready:
		if err != nil {
			<-p.done
			p.cmd = nil
			return err
		}
	case <-time.After(60 * time.Second):
		return errors.New("postgres not ready after 60s")
	}
	p.url = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	return nil
}

// stop shuts the server down fast (SIGQUIT: immediate shutdown; the data
// is thrown away) and removes its files.
func (p *postgres) stop() {
	if p.admin != nil {
		p.admin.Close()
	}
	if p.cmd != nil {
		_ = p.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
	if p.dir != "" {
		os.RemoveAll(p.dir)
	}
}

func TestPostgres(t *testing.T) {
	t.Parallel()
	dbURL := postgresDB(t)
	l := &ledger{}
	svc := toiltest.Run(t, l, toiltest.Env("DATABASE_URL="+dbURL),
		toiltest.Config("db:\n  max_open_conns: 7\n  max_idle_conns: 2"))
	svc.WaitReady()
	if l.DB.Driver() != sqldb.Postgres {
		t.Fatalf("Driver() = %s, want postgres", l.DB.Driver())
	}
	roundTrip(t, l.DB.DB)
	if n := l.DB.Stats().MaxOpenConnections; n != 7 {
		t.Errorf("max open = %d, want 7 from max_open_conns", n)
	}
	if code, body := get(t, svc.AdminURL("/readyz")); code != http.StatusOK {
		t.Errorf("/readyz = %d:\n%s", code, body)
	}
	_, metrics := get(t, svc.AdminURL("/metrics"))
	if !strings.Contains(metrics, `go_sql_max_open_connections{db_name="db"} 7`) {
		t.Errorf("/metrics lacks the pool's stats")
	}

	// A live config change resizes the pool.
	svc.SetConfig("db:\n  max_open_conns: 3")
	if err := svc.Reload(); err != nil {
		t.Fatal(err)
	}
	if n := l.DB.Stats().MaxOpenConnections; n != 3 {
		t.Errorf("max open after the reload = %d, want 3", n)
	}
	if err := svc.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := l.DB.Ping(); err == nil {
		t.Error("the pool still works after the service stopped; ToilStop should close it")
	}
}

func TestPostgresMissingDatabaseFailsAtOnce(t *testing.T) {
	t.Parallel()
	u, err := url.Parse(postgresDB(t))
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/no_such_database"
	u.User = url.UserPassword(u.User.Username(), "pw-not-shown")
	err = toil.Run(t.Context(), "tempest.ledger", &ledger{},
		toil.WithEnv("DATABASE_URL="+u.String()),
		toil.WithConfigFile(""), toil.WithAdminAddr(""), toil.WithLogOutput(io.Discard))
	if err == nil {
		t.Fatal("Run succeeded against a database that does not exist")
	}
	msg := err.Error()
	if !strings.Contains(msg, "no_such_database") || !strings.Contains(msg, "does not exist") {
		t.Errorf("error should say the database does not exist:\n%s", msg)
	}
	if !strings.Contains(msg, "the server refused: check the user, password and database name in DATABASE_URL") {
		t.Errorf("error should point at the URL's credentials and name:\n%s", msg)
	}
	if strings.Contains(msg, "attempts") {
		t.Errorf("the server's answer is not worth retrying:\n%s", msg)
	}
	if strings.Contains(msg, "pw-not-shown") {
		t.Errorf("the password leaked:\n%s", msg)
	}
}
