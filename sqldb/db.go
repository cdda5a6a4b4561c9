package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/prometheus/client_golang/prometheus/collectors"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go

	"github.com/toilhq/toil"
)

// The drivers, as [DB.Driver] names them.
const (
	Postgres = "postgres"
	SQLite   = "sqlite"
)

// DB is the SQL mixin: a named field of a struct service holding a
// database/sql pool on Postgres (pgx) or SQLite (modernc.org/sqlite, pure
// Go), opened and checked before the service's Setup.
//
//	type Ledger struct {
//		toil.Base[Config]
//
//		DB sqldb.DB // config under db:
//	}
//
//	func (l *Ledger) balance(ctx context.Context, account string) (int64, error) {
//		var cents int64
//		err := l.DB.QueryRowContext(ctx, "SELECT cents FROM balances WHERE account = $1", account).Scan(&cents)
//		return cents, err
//	}
//
// Every *sql.DB method is a method of DB, through the embedded *sql.DB,
// which is nil until the mixin's pre-setup has opened it: use it from Setup
// on. $1, $2 ... placeholders work on both databases.
//
// Which database: the config's url, else DATABASE_URL, else an SQLite file
// named after the service (tempest.ledger.db) in the data dir.
//
//	postgres://user:password@host:5432/name?sslmode=disable   (or postgresql://)
//	sqlite://ledger.db              a file in the data dir
//	sqlite:///var/lib/ledger.db     an absolute path
//	sqlite://:memory:               in memory, gone when the service stops
//
// The data dir is data_dir, else $STATE_DIRECTORY (systemd's
// StateDirectory=), else .toil/data in the working directory; the default
// file's directory is created, an explicit path's must exist. SQLite files
// are opened in WAL mode with foreign keys on and busy_timeout set, and a
// SQLite pool holds one connection unless max_open_conns says otherwise,
// since SQLite's writers take turns anyway.
//
// Pre-setup pings the database, retrying with backoff for connect_timeout
// (at most until shortly before the setup timeout ends); an answer that
// retrying cannot change (a wrong password, a database that does not
// exist) fails at once. Errors name the URL with its password hidden.
// /readyz reports the worker not ready while a ping fails (DB.ping for a
// field DB). The pool's sql.DBStats are exported as go_sql_* metrics
// labelled db_name=<the field's config key>. Stop closes the pool.
type DB struct {
	*sql.DB

	env         *toil.MixinEnv
	driver      string
	shown       string // the URL with its password hidden
	pingTimeout atomic.Int64
}

// Config is a [DB] field's config, under the field's key (db: for a field
// DB).
type Config struct {
	// URL is the database; it is secret because it may carry a password:
	// toil never logs it, and the mixin's errors hide the password.
	URL     string `env:"DATABASE_URL" secret:"true" help:"postgres://user:password@host:5432/name, sqlite://file.db (in data_dir), sqlite:///abs/path.db or sqlite://:memory:; default DATABASE_URL, else <data_dir>/<service>.db"`
	DataDir string `koanf:"data_dir" help:"directory of the default SQLite file and of relative sqlite:// paths (default $STATE_DIRECTORY, else .toil/data)"`
	// MaxOpenConns bounds the pool; 0 is 10 for Postgres and 1 for SQLite.
	MaxOpenConns    int           `koanf:"max_open_conns" help:"most connections open at once (0: 10 for Postgres, 1 for SQLite)"`
	MaxIdleConns    int           `koanf:"max_idle_conns" help:"idle connections kept open (0: max_open_conns)"`
	ConnMaxLifetime time.Duration `koanf:"conn_max_lifetime" default:"30m" help:"close connections older than this (0: never)"`
	ConnMaxIdleTime time.Duration `koanf:"conn_max_idle_time" default:"5m" help:"close connections idle for longer than this (0: never)"`
	ConnectTimeout  time.Duration `koanf:"connect_timeout" default:"10s" help:"how long the start keeps trying to reach the database (bounded by the setup timeout)"`
	PingTimeout     time.Duration `koanf:"ping_timeout" default:"1s" help:"time the /readyz ping may take before the worker is reported not ready"`
	BusyTimeout     time.Duration `koanf:"busy_timeout" default:"5s" help:"SQLite: how long a statement waits for another connection's lock"`
}

// Validate checks the config; toil calls it on every load.
func (c *Config) Validate() error {
	var errs []error
	if c.URL != "" {
		if _, err := parseURL(c.URL); err != nil {
			errs = append(errs, err)
		}
	}
	for _, d := range []struct {
		key string
		v   time.Duration
		min time.Duration
	}{
		{"conn_max_lifetime", c.ConnMaxLifetime, 0}, {"conn_max_idle_time", c.ConnMaxIdleTime, 0},
		{"connect_timeout", c.ConnectTimeout, 1}, {"ping_timeout", c.PingTimeout, 1}, {"busy_timeout", c.BusyTimeout, 0},
	} {
		if d.v < d.min {
			want := "a positive duration, e.g. 5s"
			if d.min == 0 {
				want = "0 or a positive duration, e.g. 5m"
			}
			errs = append(errs, fmt.Errorf("%s is %s: want %s", d.key, d.v, want))
		}
	}
	for _, n := range []struct {
		key string
		v   int
	}{{"max_open_conns", c.MaxOpenConns}, {"max_idle_conns", c.MaxIdleConns}} {
		if n.v < 0 {
			errs = append(errs, fmt.Errorf("%s is %d: want 0 or more", n.key, n.v))
		}
	}
	return errors.Join(errs...)
}

var (
	_ toil.MixinConfig        = (*DB)(nil)
	_ toil.MixinPreSetup      = (*DB)(nil)
	_ toil.MixinStop          = (*DB)(nil)
	_ toil.MixinConfigChanged = (*DB)(nil)
)

// ToilConfig implements toil.MixinConfig.
func (d *DB) ToilConfig() any { return &Config{} }

// ToilPreSetup opens the pool, pings the database (retrying with backoff)
// and registers the /readyz check and the metrics.
func (d *DB) ToilPreSetup(ctx context.Context, env *toil.MixinEnv) error {
	cfg, ok := env.Config.(*Config)
	if !ok {
		return fmt.Errorf("sqldb: config is %T, want *sqldb.Config", env.Config)
	}
	// The url key's env tag has already put DATABASE_URL there, unless the
	// service's own variable or a flag overrode it.
	rawURL, from := cfg.URL, env.Section+".url"
	if v, ok := env.LookupEnv("DATABASE_URL"); ok && v != "" && v == rawURL {
		from = "DATABASE_URL"
	}
	dataDir := cfg.DataDir
	if dataDir == "" {
		dataDir = defaultDataDir(env)
	}
	if rawURL == "" {
		name := env.Service + ".db"
		if env.Section != "db" {
			name = env.Service + "-" + env.Section + ".db"
		}
		if err := os.MkdirAll(dataDir, 0o755); err != nil {
			return fmt.Errorf("sqldb: create the data dir for the default SQLite file: %w; set %s.data_dir or DATABASE_URL", err, env.Section)
		}
		file, err := filepath.Abs(filepath.Join(dataDir, name))
		if err != nil {
			return fmt.Errorf("sqldb: the default SQLite file: %w", err)
		}
		rawURL, from = "sqlite://"+file, "the default SQLite file"
	}
	target, err := parseURL(rawURL)
	if err != nil {
		return fmt.Errorf("sqldb (%s): %w", from, err)
	}
	d.env, d.driver, d.shown = env, target.driver, redact(rawURL)
	d.pingTimeout.Store(int64(cfg.PingTimeout))

	db, err := target.open(dataDir, cfg)
	if err != nil {
		return fmt.Errorf("open %s (from %s): %w", d.shown, from, err)
	}
	// SQLite is tried once: a file either opens or not.
	final := func(err error) bool { return target.driver == SQLite || permanent(err) }
	if err := toil.Retry(ctx, cfg.ConnectTimeout, db.PingContext, final); err != nil {
		_ = db.Close()
		hint := fmt.Sprintf("check that the server runs and that %s points to it", from)
		switch {
		case permanent(err):
			hint = fmt.Sprintf("the server refused: check the user, password and database name in %s", from)
		case target.driver == SQLite:
			hint = fmt.Sprintf("check that the file's directory exists and is writable, or set %s", from)
		}
		return fmt.Errorf("connect to %s (from %s): %w; %s", d.shown, from, err, hint)
	}
	d.DB = db
	if err := env.Stats.Registry().Register(collectors.NewDBStatsCollector(db, env.Section)); err != nil {
		env.Log.Error("sql pool metrics not exported", "err", err)
	}
	env.AddReadyCheck("ping", d.ping)
	env.Log.Info("connected to the database", "driver", d.driver, "url", d.shown, "from", from)
	return nil
}

// defaultDataDir is systemd's state directory when the worker runs under
// systemd with StateDirectory=, else .toil/data beside the working
// directory, where toil keeps its own files.
func defaultDataDir(env *toil.MixinEnv) string {
	if v, ok := env.LookupEnv("STATE_DIRECTORY"); ok && v != "" {
		first, _, _ := strings.Cut(v, ":") // systemd lists one per StateDirectory= entry
		return first
	}
	return filepath.Join(".toil", "data")
}

// target is a parsed database URL.
type target struct {
	driver string
	pg     *pgx.ConnConfig
	path   string // SQLite: the file, or ":memory:"
	query  url.Values
}

const supportedURLs = "postgres://user:password@host:5432/name, sqlite://file.db, sqlite:///abs/path.db, sqlite://:memory:"

// parseURL reads a database URL. Its errors never hold the password.
func parseURL(raw string) (*target, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return nil, fmt.Errorf("url %s has no scheme; want one of %s", redact(raw), supportedURLs)
	}
	switch strings.ToLower(scheme) {
	case "postgres", "postgresql":
		cfg, err := pgx.ParseConfig(raw)
		if err != nil {
			// pgconn's parse errors quote the URL with its password hidden,
			// as best it can: say only what was wrong.
			msg := err.Error()
			if i := strings.LastIndex(msg, "`: "); i >= 0 {
				msg = msg[i+3:]
			}
			return nil, fmt.Errorf("url %s: %s; want %s", redact(raw), msg, supportedURLs)
		}
		return &target{driver: Postgres, pg: cfg}, nil
	case "sqlite":
		path, q, _ := strings.Cut(rest, "?")
		if path == "" {
			return nil, fmt.Errorf("url %s names no file; want sqlite://file.db, sqlite:///abs/path.db or sqlite://:memory:", raw)
		}
		query, err := url.ParseQuery(q)
		if err != nil {
			return nil, fmt.Errorf("url %s: bad query: %w", raw, err)
		}
		return &target{driver: SQLite, path: path, query: query}, nil
	}
	return nil, fmt.Errorf("url %s: unknown scheme %q; supported: %s", redact(raw), scheme, supportedURLs)
}

// open makes the pool; it does not connect.
func (t *target) open(dataDir string, cfg *Config) (*sql.DB, error) {
	var db *sql.DB
	maxOpen := cfg.MaxOpenConns
	switch t.driver {
	case Postgres:
		if maxOpen == 0 {
			maxOpen = 10
		}
		db = stdlib.OpenDB(*t.pg)
	case SQLite:
		if maxOpen == 0 {
			maxOpen = 1
		}
		path := t.path
		memory := path == ":memory:"
		if !memory && !filepath.IsAbs(path) {
			path = filepath.Join(dataDir, path)
		}
		q := url.Values{}
		q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", cfg.BusyTimeout.Milliseconds()))
		q.Add("_pragma", "foreign_keys(1)")
		if !memory {
			q.Add("_pragma", "journal_mode(WAL)")
		}
		for k, vs := range t.query {
			for _, v := range vs {
				q.Add(k, v)
			}
		}
		var err error
		db, err = sql.Open("sqlite", "file:"+path+"?"+q.Encode())
		if err != nil {
			return nil, err
		}
		if memory {
			// Each connection to :memory: is a database of its own: keep
			// exactly one, for the life of the service.
			maxOpen = 1
			db.SetMaxOpenConns(1)
			db.SetMaxIdleConns(1)
			return db, nil
		}
	}
	db.SetMaxOpenConns(maxOpen)
	idle := cfg.MaxIdleConns
	if idle == 0 {
		idle = maxOpen
	}
	db.SetMaxIdleConns(idle)
	db.SetConnMaxLifetime(cfg.ConnMaxLifetime)
	db.SetConnMaxIdleTime(cfg.ConnMaxIdleTime)
	return db, nil
}

// permanent reports a server's answer that retrying cannot change: a
// refused password, a database that does not exist. A server starting up,
// shutting down or out of connections (SQLSTATE classes 08, 53, 57) is
// worth waiting for.
func permanent(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Code[:2] {
	case "08", "53", "57":
		return false
	}
	return true
}

// ping is the /readyz check.
func (d *DB) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(d.pingTimeout.Load()))
	defer cancel()
	if err := d.DB.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", d.shown, err)
	}
	return nil
}

// ToilStop closes the pool, waiting for queries in progress to finish.
func (d *DB) ToilStop(ctx context.Context) error {
	if d.DB == nil {
		return nil
	}
	if err := d.DB.Close(); err != nil {
		return fmt.Errorf("close %s: %w", d.shown, err)
	}
	return nil
}

// ToilConfigChanged applies the pool's sizes, lifetimes and ping_timeout
// at once; the URL, data_dir and the SQLite settings are fixed for the
// life of the process, so a change to them is logged and waits for a
// restart.
func (d *DB) ToilConfigChanged(ctx context.Context, old, new any) error {
	o, n := *old.(*Config), *new.(*Config)
	d.pingTimeout.Store(int64(n.PingTimeout))
	if db := d.DB; db != nil && !isMemory(d.shown) {
		maxOpen := n.MaxOpenConns
		if maxOpen == 0 {
			maxOpen = map[string]int{Postgres: 10, SQLite: 1}[d.driver]
		}
		idle := n.MaxIdleConns
		if idle == 0 {
			idle = maxOpen
		}
		db.SetMaxOpenConns(maxOpen)
		db.SetMaxIdleConns(idle)
		db.SetConnMaxLifetime(n.ConnMaxLifetime)
		db.SetConnMaxIdleTime(n.ConnMaxIdleTime)
	}
	if o.URL != n.URL || o.DataDir != n.DataDir || o.BusyTimeout != n.BusyTimeout || o.ConnectTimeout != n.ConnectTimeout {
		if d.env != nil {
			d.env.Log.Warn("database url, data_dir, busy_timeout or connect_timeout changed; they apply at the next restart (pool sizes and lifetimes apply now)", "section", d.env.Section)
		}
	}
	return nil
}

func isMemory(shown string) bool { return strings.HasPrefix(shown, "sqlite://:memory:") }

// Driver returns Postgres or SQLite.
func (d *DB) Driver() string { return d.driver }

// URL returns the database's URL, its password hidden.
func (d *DB) URL() string { return d.shown }

var userPassword = regexp.MustCompile(`//([^/@:]*):[^/@]*@`)

// redact hides the password in a URL for errors and logs.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		// An unparsable URL (a bad port) may still hold a password.
		return userPassword.ReplaceAllString(raw, "//$1:xxxxx@")
	}
	if u.User == nil {
		return raw
	}
	if _, has := u.User.Password(); has {
		return u.Redacted()
	}
	return raw
}
