package tempest_test

import (
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/toilhq/toil"
	"github.com/toilhq/toil/internal/testserver"
	"github.com/toilhq/toil/layout"
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

// TestAllRunsTheShippedConfig runs tempest.all on tempest's own
// toil.config.yaml and switches.yaml, as `toil run tempest.all` in
// tempest/ does: every section must decode into its stage's config (an
// unknown key fails the start) and the pipeline must serve ads.
func TestAllRunsTheShippedConfig(t *testing.T) {
	t.Parallel()
	rds := testserver.Redis(t)
	log := &e2eLog{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the stages' log (last 100 lines):\n%s", log.tail(100))
		}
	})
	all := &tempest.All{StageLog: log}
	svc := toiltest.Run(t, all, toiltest.Name("tempest.all"),
		// The stages file is the default, toil.config.yaml in the
		// working directory: go test runs in tempest/.
		toiltest.Config("inventory_addr: 127.0.0.1:0\nweb_addr: 127.0.0.1:0\n"),
		toiltest.Env("REDIS_URL="+rds.URL()),
		toiltest.With(toil.WithSetupTimeout(2*time.Minute)))
	svc.WaitReady()
	p := &e2ePipeline{all: all, web: "http://" + all.WebAddr()}
	p.waitCycle(t, 0)
	var pr tempest.PlacementsResponse
	if status, body := e2eGet(t, p.web+"/placements", &pr); status != 200 || len(pr.Placements) == 0 {
		t.Fatalf("GET /placements: %d %s", status, body)
	}
	served := 0
	for _, pl := range pr.Placements {
		var ar tempest.AdsResponse
		if status, body := e2eGet(t, p.web+"/ads?placement="+pl.ID, &ar); status != 200 {
			t.Fatalf("GET /ads?placement=%s: %d %s", pl.ID, status, body)
		}
		served += len(ar.Ads)
	}
	if served == 0 {
		t.Errorf("no placement of %d has an ad", len(pr.Placements))
	}
}

// TestShippedLayout checks toil.yaml against the config and tempest.all:
// toil dev names each stage by its toil.yaml key and reads the section of
// that name, so every section must be a service of the layout (a typo
// would be a section nobody reads), and every stage must run the type
// tempest.all runs under the same name.
func TestShippedLayout(t *testing.T) {
	t.Parallel()
	lay, err := layout.Load("toil.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range lay.Services {
		names = append(names, s.Name)
		if want := "tempest." + s.Name; s.Run != want {
			t.Errorf("toil.yaml: service %s runs %s; tempest.all runs %s under the name %s", s.Name, s.Run, want, s.Name)
		}
		if !slices.Contains(s.Config, "toil.config.yaml") || !slices.Contains(s.Config, "switches.yaml") {
			t.Errorf("toil.yaml: service %s has config %v: it must ship toil.config.yaml and switches.yaml", s.Name, s.Config)
		}
	}
	want := []string{"inventory", "warmer", "prefilter", "scorer", "postfilter", "pusher", "web", "stats"}
	if !slices.Equal(names, want) {
		t.Errorf("toil.yaml's services are %v, want %v: the stages tempest.all runs", names, want)
	}
	raw, err := os.ReadFile("toil.config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var sections map[string]any
	if err := yaml.Unmarshal(raw, &sections); err != nil {
		t.Fatal(err)
	}
	for key := range sections {
		if key != "toil" && key != "tempest.all" && !slices.Contains(names, key) {
			t.Errorf("toil.config.yaml: section %q is no service of toil.yaml (%v): no stage reads it", key, names)
		}
	}
}
