package sqldb_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/toilhq/toil"
	"github.com/toilhq/toil/sqldb"
	"github.com/toilhq/toil/toiltest"
)

// ledger is a service with one DB field and nothing else.
type ledger struct {
	toil.Base[struct{}]

	DB sqldb.DB
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// roundTrip creates a table, writes a row with a $1 placeholder and reads
// it back: what a service does first.
func roundTrip(t *testing.T, db *sql.DB) {
	t.Helper()
	ctx := t.Context()
	if _, err := db.ExecContext(ctx, "CREATE TABLE balances (account TEXT PRIMARY KEY, cents BIGINT NOT NULL)"); err != nil {
		t.Fatalf("create table: %v", err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO balances (account, cents) VALUES ($1, $2)", "acme", 1250); err != nil {
		t.Fatalf("insert: %v", err)
	}
	var cents int64
	if err := db.QueryRowContext(ctx, "SELECT cents FROM balances WHERE account = $1", "acme").Scan(&cents); err != nil || cents != 1250 {
		t.Fatalf("select = %d, %v; want 1250", cents, err)
	}
	if err := db.QueryRowContext(ctx, "SELECT cents FROM balances WHERE account = $1", "nobody").Scan(&cents); !errors.Is(err, sql.ErrNoRows) {
		t.Fatalf("select of a missing row: %v, want sql.ErrNoRows", err)
	}
}

func TestSQLiteIsTheDefault(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l := &ledger{}
	svc := toiltest.Run(t, l, toiltest.Name("tempest.ledger"), toiltest.Config("db:\n  data_dir: "+dir))
	svc.WaitReady()
	if l.DB.Driver() != sqldb.SQLite {
		t.Fatalf("Driver() = %s, want sqlite", l.DB.Driver())
	}
	roundTrip(t, l.DB.DB)
	file := filepath.Join(dir, "tempest.ledger.db")
	if _, err := os.Stat(file); err != nil {
		t.Fatalf("the default file: %v", err)
	}
	var mode string
	if err := l.DB.QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	if n := l.DB.Stats().MaxOpenConnections; n != 1 {
		t.Errorf("SQLite pool max open = %d, want 1", n)
	}

	if code, body := get(t, svc.AdminURL("/readyz")); code != http.StatusOK {
		t.Errorf("/readyz = %d:\n%s", code, body)
	}
	_, metrics := get(t, svc.AdminURL("/metrics"))
	if !strings.Contains(metrics, `go_sql_max_open_connections{db_name="db"} 1`) {
		t.Errorf("/metrics lacks the pool's stats")
	}
	if err := svc.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := l.DB.Ping(); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("ping after stop: %v, want the pool closed", err)
	}

	// The data survives a restart of the service.
	l2 := &ledger{}
	svc2 := toiltest.Run(t, l2, toiltest.Name("tempest.ledger"), toiltest.Config("db:\n  data_dir: "+dir))
	svc2.WaitReady()
	var cents int64
	if err := l2.DB.QueryRowContext(t.Context(), "SELECT cents FROM balances WHERE account = $1", "acme").Scan(&cents); err != nil || cents != 1250 {
		t.Fatalf("after a restart: %d, %v; want 1250", cents, err)
	}
}

func TestSQLiteURLs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct{ url, file string }{
		{"sqlite://books.db", filepath.Join(dir, "books.db")},
		{"sqlite://" + filepath.Join(t.TempDir(), "abs.db"), ""},
		{"sqlite://:memory:", ""},
	} {
		l := &ledger{}
		svc := toiltest.Run(t, l, toiltest.Config("db:\n  data_dir: "+dir+"\n  max_open_conns: 4"),
			toiltest.Env("DATABASE_URL="+tc.url))
		svc.WaitReady()
		roundTrip(t, l.DB.DB)
		if tc.file != "" {
			if _, err := os.Stat(tc.file); err != nil {
				t.Errorf("%s: %v", tc.url, err)
			}
		}
		if want := 4; tc.url == "sqlite://:memory:" {
			// A second connection would see another, empty database.
			if n := l.DB.Stats().MaxOpenConnections; n != 1 {
				t.Errorf("%s: max open = %d, want 1", tc.url, n)
			}
		} else if n := l.DB.Stats().MaxOpenConnections; n != want {
			t.Errorf("%s: max open = %d, want %d from max_open_conns", tc.url, n, want)
		}
		if err := svc.Stop(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSQLiteInSystemdStateDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l := &ledger{}
	svc := toiltest.Run(t, l, toiltest.Name("tempest.ledger"), toiltest.Env("STATE_DIRECTORY="+dir+":/var/lib/other"))
	svc.WaitReady()
	roundTrip(t, l.DB.DB)
	if _, err := os.Stat(filepath.Join(dir, "tempest.ledger.db")); err != nil {
		t.Fatalf("the default file is not in $STATE_DIRECTORY: %v", err)
	}
}

func TestSQLiteMissingDirectory(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "no", "such", "dir", "x.db")
	err := toil.Run(t.Context(), "tempest.ledger", &ledger{},
		toil.WithEnv("DATABASE_URL=sqlite://"+missing),
		toil.WithConfigFile(""), toil.WithAdminAddr(""), toil.WithLogOutput(io.Discard))
	if err == nil || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "directory exists") || !strings.Contains(err.Error(), "DATABASE_URL") {
		t.Fatalf("a file in a missing directory: %v; want an error naming it, DATABASE_URL and the fix", err)
	}
}

func TestBadURLIsAConfigError(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ url, want, secret string }{
		{"mysql://root@db/x", `unknown scheme "mysql"`, ""},
		{"ledger.db", "has no scheme", ""},
		{"postgres://u:hunter2@db:port/x", "postgres://u:xxxxx@db:port/x", "hunter2"},
		{"postgres://u:hunter2@db/x?sslmode=sometimes", "sslmode", "hunter2"},
		{"sqlite://", "names no file", ""},
	} {
		err := toil.Run(t.Context(), "tempest.ledger", &ledger{},
			toil.WithEnv("DATABASE_URL="+tc.url),
			toil.WithConfigFile(""), toil.WithAdminAddr(""), toil.WithLogOutput(io.Discard))
		if err == nil {
			t.Errorf("url %s: Run succeeded", tc.url)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tc.want) || !strings.Contains(msg, "sqlite://") {
			t.Errorf("url %s: error lacks %q or the supported forms:\n%s", tc.url, tc.want, msg)
		}
		if tc.secret != "" && strings.Contains(msg, tc.secret) {
			t.Errorf("url %s: the password leaked:\n%s", tc.url, msg)
		}
	}
}

func TestUnreachablePostgresFailsSetupNamingTheURL(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	var logs bytes.Buffer
	err = toil.Run(t.Context(), "tempest.ledger", &ledger{},
		toil.WithEnv("DATABASE_URL=postgres://ledger:s3cret@127.0.0.1:"+port+"/ledger?sslmode=disable"),
		toil.WithConfigFile(""), toil.WithAdminAddr(""), toil.WithLogOutput(&logs),
		toil.WithSetupTimeout(1500*time.Millisecond))
	if err == nil {
		t.Fatal("Run succeeded without a server")
	}
	msg := err.Error()
	for _, want := range []string{"postgres://ledger:xxxxx@127.0.0.1:" + port + "/ledger", "DATABASE_URL", "connection refused", "attempts"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "timed out") {
		t.Errorf("the error should say why the server could not be reached, not only that setup timed out:\n%s", msg)
	}
	if strings.Contains(msg, "s3cret") || strings.Contains(logs.String(), "s3cret") {
		t.Errorf("the password leaked:\n%s\n%s", msg, logs.String())
	}
}

func TestBadSettingsAreConfigErrors(t *testing.T) {
	t.Parallel()
	err := toil.Run(context.Background(), "tempest.ledger", &ledger{},
		toil.WithArgs("--db.ping_timeout=0s", "--db.max_open_conns=-1", "--db.conn_max_lifetime=-1s"),
		toil.WithEnv(), toil.WithConfigFile(""), toil.WithAdminAddr(""), toil.WithLogOutput(io.Discard))
	if err == nil {
		t.Fatal("Run accepted the settings")
	}
	for _, want := range []string{"ping_timeout is 0s", "max_open_conns is -1", "conn_max_lifetime is -1s"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
