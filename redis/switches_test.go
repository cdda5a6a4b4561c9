package redis_test

import (
	"context"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/toilhq/toil"
	"github.com/toilhq/toil/internal/testserver"
	"github.com/toilhq/toil/redis"
	"github.com/toilhq/toil/toiltest"
)

// waitActive waits, on Switches.Changed, until name's answer for keys is
// want.
func waitActive(t *testing.T, sw *toil.Switches, name string, want bool, keys ...toil.SwitchKey) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for ch := sw.Changed(); sw.Active(context.Background(), name, keys...) != want; ch = sw.Changed() {
		select {
		case <-ch:
		case <-timeout:
			t.Fatalf("switch %s: still active=%v after 30s; switches: %v", name, !want, sw.Snapshot())
		}
	}
}

func newClient(t *testing.T, srv *testserver.RedisServer) *goredis.Client {
	t.Helper()
	rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

const switchesConfig = "redis:\n  switches:\n    enabled: true"

func TestSwitchesFollowTheHash(t *testing.T) {
	t.Parallel()
	srv := testserver.Redis(t)
	rdb := newClient(t, srv)
	ctx := t.Context()
	if err := rdb.HSet(ctx, "toil:switches", "checkout", "on", "scorer", `{"percent": 100}`).Err(); err != nil {
		t.Fatal(err)
	}

	c := &cache{}
	svc := toiltest.Run(t, c, toiltest.Config(switchesConfig), toiltest.Env("REDIS_URL="+srv.URL()))
	svc.WaitReady()
	sw := svc.Switches()
	// Loaded before Setup, not some time after.
	if !sw.Active(ctx, "checkout") || !sw.Active(ctx, "scorer", toil.Key(7)) {
		t.Fatalf("switches at start: %v; want checkout on and scorer at 100%%", sw.Snapshot())
	}

	// A writer through the store: HSET and PUBLISH in one transaction.
	store := redis.NewSwitchStore(rdb, "toil:switches")
	if err := store.Set(ctx, "scorer:v2", toil.Switch{Allow: []string{"user:42"}}); err != nil {
		t.Fatal(err)
	}
	waitActive(t, sw, "scorer:v2", true, toil.KeyOf("user", 42))
	if sw.Active(ctx, "scorer:v2", toil.KeyOf("user", 43)) {
		t.Error("scorer:v2 is active for user 43, who is not on its allow-list")
	}

	// A writer with redis-cli: HSET then PUBLISH.
	if err := rdb.HSet(ctx, "toil:switches", "scorer", "off").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Publish(ctx, "toil:switches", "scorer").Err(); err != nil {
		t.Fatal(err)
	}
	waitActive(t, sw, "scorer", false, toil.Key(7))
	// The child asks its parent, which is now off.
	if sw.Active(ctx, "scorer:v2", toil.KeyOf("user", 42)) {
		t.Error("scorer:v2 is active although its parent scorer is off")
	}

	// Deleting a field turns the switch off.
	if err := store.Delete(ctx, "checkout"); err != nil {
		t.Fatal(err)
	}
	waitActive(t, sw, "checkout", false)
	if _, ok := sw.Snapshot()["checkout"]; ok {
		t.Error("checkout is still defined after HDEL")
	}

	// An unreadable value is reported and its switch keeps its last good
	// definition.
	if err := rdb.HSet(ctx, "toil:switches", "scorer:v2", `{"percent": 250}`, "search", "on").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Publish(ctx, "toil:switches", "search").Err(); err != nil {
		t.Fatal(err)
	}
	waitActive(t, sw, "search", true)
	if got := sw.Snapshot()["scorer:v2"]; len(got.Allow) != 1 || got.Allow[0] != "user:42" || got.Percent != 0 {
		t.Errorf("scorer:v2 = %+v, want its last good definition (allow user:42)", got)
	}
	logs := svc.Logs()
	if !strings.Contains(logs, `field \"scorer:v2\"`) || !strings.Contains(logs, "percent") || !strings.Contains(logs, "HSET toil:switches scorer:v2") {
		t.Errorf("the unreadable value is not reported with the field and a fix:\n%s", logs)
	}
	_, metrics := get(t, svc.AdminURL("/metrics"))
	if !strings.Contains(metrics, `redis_switch_errors_total{client="redis"} 1`) {
		t.Errorf("/metrics should count one switch error:\n%s", grepLines(metrics, "redis_switch"))
	}
}

func grepLines(s, substr string) string {
	var out []string
	for line := range strings.SplitSeq(s, "\n") {
		if strings.Contains(line, substr) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

func TestSwitchesFollowKeyspaceNotifications(t *testing.T) {
	t.Parallel()
	srv := testserver.Redis(t)
	rdb := newClient(t, srv)
	ctx := t.Context()
	if err := rdb.ConfigSet(ctx, "notify-keyspace-events", "Kh").Err(); err != nil {
		t.Fatal(err)
	}
	svc := toiltest.Run(t, &cache{},
		toiltest.Config(switchesConfig+"\n    key: flags"), toiltest.Env("REDIS_URL="+srv.URL()))
	svc.WaitReady()

	// No PUBLISH: the server announces the HSET itself.
	if err := rdb.HSet(ctx, "flags", "checkout", "on").Err(); err != nil {
		t.Fatal(err)
	}
	waitActive(t, svc.Switches(), "checkout", true)
	if err := rdb.HDel(ctx, "flags", "checkout").Err(); err != nil {
		t.Fatal(err)
	}
	waitActive(t, svc.Switches(), "checkout", false)
}

func TestSwitchesAfterARestart(t *testing.T) {
	t.Parallel()
	srv := testserver.Redis(t)
	rdb := newClient(t, srv)
	ctx := t.Context()
	if err := rdb.HSet(ctx, "toil:switches", "checkout", "on").Err(); err != nil {
		t.Fatal(err)
	}
	svc := toiltest.Run(t, &cache{}, toiltest.Config(switchesConfig), toiltest.Env("REDIS_URL="+srv.URL()))
	svc.WaitReady()
	sw := svc.Switches()
	if !sw.Active(ctx, "checkout") {
		t.Fatal("checkout is off at start")
	}

	// Without persistence the server comes back empty, and so do the
	// switches: the re-subscription re-reads the hash.
	srv.Stop()
	srv.Restart()
	waitActive(t, sw, "checkout", false)

	// And changes made after the restart arrive as before.
	store := redis.NewSwitchStore(rdb, "toil:switches")
	if err := store.Set(ctx, "search", toil.Switch{State: toil.SwitchOn}); err != nil {
		t.Fatal(err)
	}
	waitActive(t, sw, "search", true)
	if !strings.Contains(svc.Logs(), "retrying until the server is back") {
		t.Errorf("the lost subscription was not reported:\n%s", svc.Logs())
	}
}

func TestSwitchStoreLoadAndSet(t *testing.T) {
	t.Parallel()
	srv := testserver.Redis(t)
	rdb := newClient(t, srv)
	ctx := t.Context()
	store := redis.NewSwitchStore(rdb, "sw")
	if err := rdb.HSet(ctx, "sw",
		"a", "on",
		"b", "percent: 12.5\nby: user",
		"c", `{"state": "maybe"}`,
		"bad name", "on",
	).Err(); err != nil {
		t.Fatal(err)
	}
	defs, err := store.Load(ctx)
	if got := defs["b"]; got.Percent != 12.5 || got.By != "user" || defs["a"].State != toil.SwitchOn || len(defs) != 2 {
		t.Errorf("Load = %v, want a on and b at 12.5%% by user, nothing else", defs)
	}
	if err == nil || !strings.Contains(err.Error(), `field "c"`) || !strings.Contains(err.Error(), `"maybe"`) ||
		!strings.Contains(err.Error(), `field "bad name"`) || !strings.Contains(err.Error(), "white space") {
		t.Errorf("Load error should name both unreadable fields and why:\n%v", err)
	}

	if err := store.Set(ctx, "x", toil.Switch{Percent: 101}); err == nil || !strings.Contains(err.Error(), "0 to 100") {
		t.Errorf("Set with percent 101: %v, want an error saying 0 to 100", err)
	}
	if err := store.Set(ctx, "a::b", toil.Switch{}); err == nil || !strings.Contains(err.Error(), "empty part") {
		t.Errorf("Set with name a::b: %v, want an error about the empty part", err)
	}
	if n, _ := rdb.HLen(ctx, "sw").Result(); n != 4 {
		t.Errorf("a rejected Set wrote to the hash: %d fields, want 4", n)
	}

	// The hash holding something else is an error naming it.
	if err := rdb.Set(ctx, "str", "x", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := redis.NewSwitchStore(rdb, "str").Load(ctx); err == nil || !strings.Contains(err.Error(), "str") || !strings.Contains(err.Error(), "WRONGTYPE") {
		t.Errorf("Load of a string key: %v, want a WRONGTYPE error naming it", err)
	}
}

func TestSwitchesHashOfTheWrongTypeFailsSetup(t *testing.T) {
	t.Parallel()
	srv := testserver.Redis(t)
	rdb := newClient(t, srv)
	if err := rdb.Set(t.Context(), "toil:switches", "on", 0).Err(); err != nil {
		t.Fatal(err)
	}
	svc := toiltest.Run(t, &cache{}, toiltest.Config(switchesConfig), toiltest.Env("REDIS_URL="+srv.URL()))
	err := svc.Err()
	if err == nil || !strings.Contains(err.Error(), "toil:switches") || !strings.Contains(err.Error(), "WRONGTYPE") {
		t.Fatalf("a string at the switches key: %v, want a setup error naming the key", err)
	}
}
