package tempest_test

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/toilhq/toil/tempest"
	"github.com/toilhq/toil/toiltest"
)

// TestAllServesAdsOnItsOwnBus runs tempest.all as `toil run tempest.all`
// does with nothing but Redis: the queues on its in-process bus. What web
// serves is the oracle's slates.
func TestAllServesAdsOnItsOwnBus(t *testing.T) {
	t.Parallel()
	p := e2eStart(t, "")
	p.waitCycle(t, 0)
	p.checkSlates(t, oracleSlates(p.data, oracleInput{At: time.Now(), Blocklist: e2eBlocklist, SlateSize: 10}))
	for _, stage := range []string{"inventory", "warmer", "prefilter", "scorer",
		"postfilter", "pusher", "web", "stats"} {
		if p.all.AdminAddr(stage) == "" {
			t.Errorf("AdminAddr(%q) is empty: the stage's metrics are out of reach", stage)
		}
	}
}

// TestAllWithoutRedis: no Redis is one error saying so, where it looked
// and what to do, rather than eight stages timing out.
func TestAllWithoutRedis(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	svc := toiltest.Run(t, &tempest.All{}, toiltest.Name("tempest.all"),
		toiltest.Config("stages: \"\""), toiltest.Env("REDIS_URL=redis://"+addr+"/0"))
	err = svc.Err()
	if err == nil {
		t.Fatal("tempest.all started without Redis")
	}
	for _, want := range []string{"tempest.all needs Redis", "redis://" + addr + "/0", "REDIS_URL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q:\n%v", want, err)
		}
	}
}

// TestAllConfigErrors: a bad setting stops tempest.all before it starts
// anything, naming the setting.
func TestAllConfigErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		config string
		want   string
	}{
		{"queues: ftp://example.com/q", `the scheme "ftp" is not one of mem, nats, redis, kafka`},
		{"web_addr: \"\"", "web_addr is empty"},
		{"stages: /nonexistent/stages.yaml", "stages file /nonexistent/stages.yaml"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			t.Parallel()
			svc := toiltest.Run(t, &tempest.All{}, toiltest.Name("tempest.all"), toiltest.Config(tc.config),
				// A Redis that cannot answer: the config must be
				// refused before Redis is even tried.
				toiltest.Env("REDIS_URL=redis://127.0.0.1:1/0"))
			err := svc.Err()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("config %q: got %v, want an error saying %q", tc.config, err, tc.want)
			}
		})
	}
}
