package redis_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/toilhq/toil"
	"github.com/toilhq/toil/internal/testserver"
	"github.com/toilhq/toil/redis"
	"github.com/toilhq/toil/toiltest"
)

// cache is a service with one Redis field and nothing else.
type cache struct {
	toil.Base[struct{}]

	Redis redis.Client
}

// get fetches url and returns the status and body.
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

// waitStatus polls path on the admin listener until it answers want. It
// waits on the service's state, not on a guess of how long it takes.
func waitStatus(t *testing.T, svc *toiltest.Service, path string, want int) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := get(t, svc.AdminURL(path))
		if code == want {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still answers %d after 30s, want %d:\n%s", path, code, want, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The done-when test: the server restarted mid-run, the service
// reconnects by itself and /readyz shows the outage and the recovery.
func TestRestartedServerOutageAndRecovery(t *testing.T) {
	t.Parallel()
	srv := testserver.Redis(t)
	c := &cache{}
	svc := toiltest.Run(t, c, toiltest.Env("REDIS_URL="+srv.URL()))
	svc.WaitReady()
	ctx := t.Context()

	if code, body := get(t, svc.AdminURL("/readyz")); code != http.StatusOK {
		t.Fatalf("/readyz = %d before the outage:\n%s", code, body)
	}
	if err := c.Redis.Set(ctx, "ad:1", "before", 0).Err(); err != nil {
		t.Fatalf("SET before the outage: %v", err)
	}

	srv.Stop()
	body := waitStatus(t, svc, "/readyz", http.StatusServiceUnavailable)
	if !strings.Contains(body, "Redis.ping") || !strings.Contains(body, srv.Addr()) {
		t.Errorf("/readyz during the outage should name the check and the server:\n%s", body)
	}
	if err := c.Redis.Get(ctx, "ad:1").Err(); err == nil {
		t.Error("GET succeeded while the server was down")
	}

	srv.Restart() // same port, empty data set
	waitStatus(t, svc, "/readyz", http.StatusOK)
	if err := c.Redis.Set(ctx, "ad:1", "after", 0).Err(); err != nil {
		t.Fatalf("SET after the restart: %v", err)
	}
	if v, err := c.Redis.Get(ctx, "ad:1").Result(); err != nil || v != "after" {
		t.Fatalf("GET after the restart = %q, %v; want after", v, err)
	}
	if _, err := c.Redis.Get(ctx, "missing").Result(); !errors.Is(err, redis.Nil) {
		t.Errorf("GET of a missing key: %v, want redis.Nil", err)
	}

	_, metrics := get(t, svc.AdminURL("/metrics"))
	for _, want := range []string{
		`redis_command_duration_seconds_count{client="redis",command="set",result="ok"} 2`,
		`redis_command_duration_seconds_count{client="redis",command="get",result="nil"} 1`,
		`redis_dials_total{client="redis",result="error"}`,
		`redis_pool_connections{client="redis",state="idle"}`,
		`redis_pool_hits_total{client="redis"}`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if err := svc.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if err := c.Redis.Ping(context.Background()).Err(); err == nil {
		t.Error("the client still works after the service stopped; ToilStop should close it")
	}
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

func TestUnreachableServerFailsSetupNamingTheURL(t *testing.T) {
	t.Parallel()
	port := strconv.Itoa(closedPort(t))
	var logs bytes.Buffer
	err := toil.Run(t.Context(), "tempest.web", &cache{},
		toil.WithEnv("REDIS_URL=redis://ads:s3cret@127.0.0.1:"+port+"/2"),
		toil.WithConfigFile(""), toil.WithAdminAddr(""), toil.WithLogOutput(&logs),
		toil.WithSetupTimeout(1500*time.Millisecond))
	if err == nil {
		t.Fatal("Run succeeded without a server")
	}
	msg := err.Error()
	for _, want := range []string{"redis://ads:xxxxx@127.0.0.1:" + port + "/2", "REDIS_URL", "connection refused", "attempts"} {
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

func TestWrongPasswordFailsAtOnce(t *testing.T) {
	t.Parallel()
	srv := testserver.Redis(t)
	admin := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	defer admin.Close()
	if err := admin.ConfigSet(t.Context(), "requirepass", "right-pw").Err(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err := toil.Run(t.Context(), "tempest.web", &cache{},
		toil.WithEnv("REDIS_URL=redis://:wrong-pw@"+srv.Addr()+"/0"),
		toil.WithConfigFile(""), toil.WithAdminAddr(""), toil.WithLogOutput(io.Discard))
	if err == nil {
		t.Fatal("Run succeeded with a password the server does not take")
	}
	if strings.Contains(err.Error(), "wrong-pw") || !strings.Contains(err.Error(), "redis://:xxxxx@"+srv.Addr()) {
		t.Errorf("error should name the URL without its password:\n%v", err)
	}
	if !strings.Contains(err.Error(), "the server refused: check the user, password") {
		t.Errorf("error should point at the credentials:\n%v", err)
	}
	if strings.Contains(err.Error(), "attempts") {
		t.Errorf("an answer from the server (a refused password) is not worth retrying:\n%v (after %s)", err, time.Since(start))
	}
}

func TestBadURLIsAConfigError(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ url, want, secret string }{
		{"http://cache:6379", `unknown scheme "http"`, ""},
		{"cache:6379", "has no scheme", ""},
		{"redis://u:hunter2@cache:port/0", "redis://u:xxxxx@cache:port/0", "hunter2"},
		{"redis://cache:6379/x", "invalid database number", ""},
	} {
		err := toil.Run(t.Context(), "tempest.web", &cache{},
			toil.WithEnv("REDIS_URL="+tc.url),
			toil.WithConfigFile(""), toil.WithAdminAddr(""), toil.WithLogOutput(io.Discard))
		if err == nil {
			t.Errorf("url %s: Run succeeded", tc.url)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tc.want) || !strings.Contains(msg, "redis://[user:password@]host:port/db") {
			t.Errorf("url %s: error lacks %q or the supported forms:\n%s", tc.url, tc.want, msg)
		}
		if tc.secret != "" && strings.Contains(msg, tc.secret) {
			t.Errorf("url %s: the password leaked:\n%s", tc.url, msg)
		}
	}
}

func TestConfigSection(t *testing.T) {
	t.Parallel()
	srv := testserver.Redis(t)
	c := &cache{}
	svc := toiltest.Run(t, c, toiltest.Config("redis:\n  url: "+srv.URL()+"\n  pool_size: 3\n  max_retries: 0"))
	svc.WaitReady()
	opt := c.Redis.Options()
	if opt.PoolSize != 3 || opt.MaxRetries != 0 { // go-redis stores "none" (-1) as 0 once normalized
		t.Errorf("pool_size 3, max_retries 0 gave PoolSize %d, MaxRetries %d; want 3, 0 (none)", opt.PoolSize, opt.MaxRetries)
	}
	if c.Redis.URL() != srv.URL() {
		t.Errorf("URL() = %s, want %s", c.Redis.URL(), srv.URL())
	}
	if err := c.Redis.Ping(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
}

func TestBadSettingsAreConfigErrors(t *testing.T) {
	t.Parallel()
	err := toil.Run(t.Context(), "tempest.web", &cache{},
		toil.WithArgs("--redis.ping_timeout=0s", "--redis.pool_size=-1", "--redis.switches.enabled", "--redis.switches.key="),
		toil.WithEnv(), toil.WithConfigFile(""), toil.WithAdminAddr(""), toil.WithLogOutput(io.Discard))
	if err == nil {
		t.Fatal("Run accepted the settings")
	}
	for _, want := range []string{"ping_timeout is 0s", "pool_size is -1", "switches.key is empty"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// optional: true starts without the server and stays ready through an
// outage; commands work once the server answers.
func TestOptionalServerDownAtStart(t *testing.T) {
	t.Parallel()
	srv := testserver.Redis(t)
	srv.Stop()
	c := &cache{}
	svc := toiltest.Run(t, c, toiltest.Config("redis: {url: "+srv.URL()+", optional: true}"))
	svc.WaitReady()
	if code, body := get(t, svc.AdminURL("/readyz")); code != http.StatusOK {
		t.Errorf("/readyz with an optional server down = %d, want 200:\n%s", code, body)
	}
	if !strings.Contains(svc.Logs(), "redis does not answer; running without it") {
		t.Errorf("the start should say it goes on without redis:\n%s", svc.Logs())
	}
	if err := c.Redis.Set(t.Context(), "k", "v", 0).Err(); err == nil {
		t.Error("SET succeeded with the server down")
	}

	srv.Restart()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := c.Redis.Set(t.Context(), "k", "v", 0).Err()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("SET still fails 30s after the server came back: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	srv.Stop()
	if code, body := get(t, svc.AdminURL("/readyz")); code != http.StatusOK {
		t.Errorf("/readyz during an outage of an optional server = %d, want 200:\n%s", code, body)
	}
}

// optional does not hide a refusal: a wrong password is a config error.
func TestOptionalServerStillRejectsWrongPassword(t *testing.T) {
	t.Parallel()
	srv := testserver.Redis(t)
	admin := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	defer admin.Close()
	if err := admin.ConfigSet(t.Context(), "requirepass", "right-pw").Err(); err != nil {
		t.Fatal(err)
	}
	err := toil.Run(t.Context(), "tempest.web", &cache{},
		toil.WithEnv("REDIS_URL=redis://:wrong@"+srv.Addr()+"/0"),
		toil.WithConfigFile(""), toil.WithAdminAddr(""), toil.WithLogOutput(io.Discard),
		toil.WithArgs("--redis.optional=true"))
	if err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Fatalf("Run with a wrong password and optional: %v, want a WRONGPASS error", err)
	}
}
