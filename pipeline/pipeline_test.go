package pipeline_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/toilhq/toil"
	"github.com/toilhq/toil/pipeline"
	"github.com/toilhq/toil/pipeline/pipelinetest"
)

// The parts' cases. Each part's test runs its own table; the pipeline's
// tests compose the tables (pipelinetest.Compose) into end-to-end cases.

type record = map[string]any

// HMAC-SHA256 with key k3y, as `printf %s VALUE | openssl dgst -sha256 -hmac k3y` prints them.
const (
	hashAnn = "05b7b9620c06e46bf452db3b5d45cfc224934bb252999c8be5c3fe14816025a7" // ann@example.com
	hashBob = "3c3ae86e98f79222532d69e973aa76ade90f3b3d47404da54964309d9708e544" // bob@example.com
	hashB   = "84496172f7f2312ec151cb41289403adab1a49019969c10713c45961f64b883a" // bob
	hashE   = "25d6fa00291172296f0922ad92e7383359ee4b3c3ccfa6c8b91ffc97e1adec2a" // eve
	hash42  = "ce2d7caed289663313ba19a67f407a6399386128229b71b5677998b370082fdb" // 42, a number
)

var jsonCases = []pipelinetest.ParserCase[[]byte, record]{
	{Name: "signup", In: []byte(`{"email":"ann@example.com","ip":"192.0.2.7","plan":"pro","seats":3}`),
		Want: record{"email": "ann@example.com", "ip": "192.0.2.7", "plan": "pro", "seats": 3.0}},
	{Name: "nested", In: []byte(`{"user":{"email":"bob@example.com","name":"Bob"},"items":[{"owner":"bob"},{"owner":"eve"}]}`),
		Want: record{"user": record{"email": "bob@example.com", "name": "Bob"}, "items": []any{record{"owner": "bob"}, record{"owner": "eve"}}}},
	{Name: "test traffic", In: []byte(`{"email":"probe@example.com","test":true}`),
		Want: record{"email": "probe@example.com", "test": true}},
	{Name: "rejected downstream", In: []byte(`{"plan":"reject"}`), Want: record{"plan": "reject"}},
	{Name: "truncated", In: []byte(`{"email":`), WantErr: "parse JSON: line 1, column 9: the input ends inside a value"},
	{Name: "bad token", In: []byte("{\n  \"email\": nope\n}"), WantErr: "parse JSON: line 2, column 13: invalid character 'o' in literal null (expecting 'u')"},
	{Name: "two values", In: []byte(`{} {}`), WantErr: "parse JSON: line 1, column 4: more data after the JSON value"},
	{Name: "not an object", In: []byte(`[1]`), WantErr: "parse JSON: line 1, column 1: the value: want map[string]interface {}, got array"},
	{Name: "empty", In: []byte(" \n"), WantErr: "parse JSON: empty input"},
}

var anonymizeConfig = pipeline.AnonymizeConfig{
	Key:  "k3y",
	Hash: []string{"email", "user.email", "items.owner"},
	Drop: []string{"ip"},
}

var anonymizeCases = []pipelinetest.ComputerCase[record, record]{
	{Name: "signup", In: record{"email": "ann@example.com", "ip": "192.0.2.7", "plan": "pro", "seats": 3.0},
		Want: record{"email": hashAnn, "plan": "pro", "seats": 3.0}},
	{Name: "nested and listed", In: record{"user": record{"email": "bob@example.com", "name": "Bob"}, "items": []any{record{"owner": "bob"}, record{"owner": "eve"}}},
		Want: record{"user": record{"email": hashBob, "name": "Bob"}, "items": []any{record{"owner": hashB}, record{"owner": hashE}}}},
	{Name: "nothing to hide", In: record{"plan": "reject"}, Want: record{"plan": "reject"}},
	{Name: "null stays null", In: record{"email": nil}, Want: record{"email": nil}},
	{Name: "a number is hashed as its JSON", In: record{"email": 42.0}, Want: record{"email": hash42}},
}

// The pipeline's compute stage drops test traffic, then anonymises: its
// cases are the anonymiser's, which test traffic filter passes, plus one.
var stageCases = append(append([]pipelinetest.ComputerCase[record, record](nil), anonymizeCases...),
	pipelinetest.ComputerCase[record, record]{Name: "test traffic", In: record{"email": "probe@example.com", "test": true}, Skip: true})

func computeStage(t *testing.T) pipeline.Computer[record, record] {
	t.Helper()
	anon, err := pipeline.NewAnonymizer(anonymizeConfig)
	if err != nil {
		t.Fatal(err)
	}
	notTest := pipeline.Filter(func(r record) bool { return r["test"] != true })
	return pipeline.Then(notTest, pipeline.Computer[record, record](anon))
}

// publishCases hold for every publisher that delivers JSON: what arrives
// is the record's JSON, keys sorted.
var publishCases = []pipelinetest.PublisherCase[record, string]{
	{Name: "signup", In: record{"email": hashAnn, "plan": "pro", "seats": 3.0}, Want: `{"email":"` + hashAnn + `","plan":"pro","seats":3}`},
	{Name: "nested", In: record{"user": record{"email": hashBob, "name": "Bob"}, "items": []any{record{"owner": hashB}, record{"owner": hashE}}},
		Want: `{"items":[{"owner":"` + hashB + `"},{"owner":"` + hashE + `"}],"user":{"email":"` + hashBob + `","name":"Bob"}}`},
	{Name: "plain", In: record{"plan": "reject"}, Want: `{"plan":"reject"}`},
}

// httpCases add what only an HTTP destination does: refuse a record.
var httpCases = []pipelinetest.PublisherCase[record, string]{
	{Name: "refused", In: record{"plan": "reject"}, WantErr: "503 Service Unavailable: 503 Service Unavailable"},
	{Name: "signup", In: record{"email": hashAnn, "plan": "pro", "seats": 3.0}, Want: `{"email":"` + hashAnn + `","plan":"pro","seats":3}`},
}

// refusing is the HTTP destination's rule for the http cases.
func refusing(body string) int {
	if strings.Contains(body, "reject") {
		return http.StatusServiceUnavailable
	}
	return http.StatusOK
}

func TestJSON(t *testing.T) {
	t.Parallel()
	pipelinetest.Parser(t, pipeline.JSON[record]{}, jsonCases)
}

func TestJSONStrict(t *testing.T) {
	t.Parallel()
	type signup struct {
		Email string `json:"email"`
		Seats int    `json:"seats"`
	}
	pipelinetest.Parser(t, pipeline.JSON[signup]{Strict: true}, []pipelinetest.ParserCase[[]byte, signup]{
		{Name: "known fields", In: []byte(`{"email":"a@b.c","seats":2}`), Want: signup{"a@b.c", 2}},
		{Name: "renamed upstream", In: []byte(`{"mail":"a@b.c"}`), WantErr: `unknown field "mail"`},
		{Name: "wrong type", In: []byte(`{"seats":"two"}`), WantErr: "parse JSON: line 1, column 14: seats: want int, got string"},
	})
}

func TestAnonymizer(t *testing.T) {
	t.Parallel()
	anon, err := pipeline.NewAnonymizer(anonymizeConfig)
	if err != nil {
		t.Fatal(err)
	}
	pipelinetest.Computer(t, pipeline.Computer[record, record](anon), anonymizeCases)
}

func TestAnonymizerConfigErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cfg  pipeline.AnonymizeConfig
		want string
	}{
		{pipeline.AnonymizeConfig{Hash: []string{"email"}}, "anonymize: no key: an unkeyed hash of an email is undone by hashing a list of emails; set a secret key"},
		{pipeline.AnonymizeConfig{Key: "k", Hash: []string{"user..email"}}, `anonymize: hash path "user..email": empty field name; write fields as a.b.c`},
		{pipeline.AnonymizeConfig{Key: "k", Hash: []string{"ip"}, Drop: []string{"ip"}}, `anonymize: field "ip" is in both hash and drop; pick one`},
	} {
		if _, err := pipeline.NewAnonymizer(tc.cfg); err == nil || err.Error() != tc.want {
			t.Errorf("NewAnonymizer(%+v) = %v\nwant %s", tc.cfg, err, tc.want)
		}
	}
}

func TestComputeStage(t *testing.T) {
	t.Parallel()
	pipelinetest.Computer(t, computeStage(t), stageCases)
}

func TestFilePublisher(t *testing.T) {
	t.Parallel()
	pipelinetest.Publisher(t, pipelinetest.FileSink[record](t), publishCases)
}

func TestHTTPPublisher(t *testing.T) {
	t.Parallel()
	pipelinetest.Publisher(t, pipelinetest.HTTPSink[record](t, nil), publishCases)
	pipelinetest.Publisher(t, pipelinetest.HTTPSink[record](t, refusing), httpCases)
}

func TestHTTPPublisherHidesThePassword(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusUnauthorized)
	}))
	defer srv.Close()
	u := strings.Replace(srv.URL, "http://", "http://user:hunter2@", 1)
	err := (&pipeline.HTTPPublisher[record]{URL: u}).Publish(t.Context(), record{})
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "401 Unauthorized: no") {
		t.Errorf("Publish = %v; want the 401 and no password", err)
	}
}

// The pipeline assembled from the parts, tested with the cases assembled
// from the parts' cases: once with a file at the end, once with HTTP.
func TestPipelineToFile(t *testing.T) {
	t.Parallel()
	sink := pipelinetest.FileSink[record](t)
	p := pipeline.New(pipeline.JSON[record]{}, computeStage(t), sink.Publisher)
	cases := pipelinetest.Compose(jsonCases, stageCases, publishCases)
	// Every parser case reaches the end, fails at parse, or is skipped.
	if len(cases) != len(jsonCases) {
		t.Errorf("Compose made %d end-to-end cases from %d parser cases", len(cases), len(jsonCases))
	}
	pipelinetest.Pipeline(t, p, sink, cases)
}

func TestPipelineToHTTP(t *testing.T) {
	t.Parallel()
	sink := pipelinetest.HTTPSink[record](t, refusing)
	stats := toil.NewStats()
	p := pipeline.New(pipeline.JSON[record]{}, computeStage(t), sink.Publisher, pipeline.WithStats(stats, "signups"))
	cases := pipelinetest.Compose(jsonCases, stageCases, httpCases)
	pipelinetest.Pipeline(t, p, sink, cases)

	want := map[string]float64{"published": 1, "skipped": 1, "parse_error": 5, "publish_error": 1}
	mfs, err := stats.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "pipeline_records_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" {
					got[l.GetValue()] = m.GetCounter().GetValue()
				}
			}
		}
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("pipeline_records_total{result=%q} = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
}

func TestStageErrors(t *testing.T) {
	t.Parallel()
	broken := errors.New("scorer down")
	p := pipeline.New(
		pipeline.Pass[int](),
		pipeline.ComputeFunc[int, int](func(ctx context.Context, n int) (int, error) {
			if n < 0 {
				return 0, broken
			}
			return n * 2, nil
		}),
		pipeline.PublishFunc[int](func(ctx context.Context, n int) error { return nil }),
	)
	err := p.Process(t.Context(), -1)
	if !errors.Is(err, broken) || pipeline.Stage(err) != "compute" || err.Error() != "compute: scorer down" {
		t.Errorf("Process(-1) = %v (stage %q); want compute: scorer down", err, pipeline.Stage(err))
	}
	if err := p.Process(t.Context(), 2); err != nil {
		t.Errorf("Process(2) = %v", err)
	}
}
