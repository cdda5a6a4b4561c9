package pipelinetest_test

import (
	"reflect"
	"testing"

	"github.com/toilhq/toil/pipeline/pipelinetest"
)

func TestCompose(t *testing.T) {
	t.Parallel()
	parse := []pipelinetest.ParserCase[string, int]{
		{Name: "one", In: "1", Want: 1},
		{Name: "two", In: "2", Want: 2},
		{Name: "minus", In: "-1", Want: -1},
		{Name: "seven", In: "7", Want: 7}, // no compute case takes 7
		{Name: "junk", In: "x", WantErr: "not a number"},
	}
	compute := []pipelinetest.ComputerCase[int, int]{
		{Name: "double 1", In: 1, Want: 2},
		{Name: "double 2", In: 2, Want: 4},
		{Name: "negative", In: -1, WantErr: "negative"},
		{Name: "also 1", In: 1, Skip: true},
	}
	publish := []pipelinetest.PublisherCase[int, string]{
		{Name: "2 out", In: 2, Want: "2"},
		{Name: "4 refused", In: 4, WantErr: "full"},
	}
	got := pipelinetest.Compose(parse, compute, publish)
	want := []pipelinetest.Case[string, string]{
		{Name: "one → double 1 → 2 out", In: "1", Want: []string{"2"}},
		{Name: "one → also 1", In: "1"},
		{Name: "two → double 2 → 4 refused", In: "2", Stage: "publish", WantErr: "full"},
		{Name: "minus → negative", In: "-1", Stage: "compute", WantErr: "negative"},
		{Name: "junk", In: "x", Stage: "parse", WantErr: "not a number"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Compose =\n%+v\nwant\n%+v", got, want)
	}
}
