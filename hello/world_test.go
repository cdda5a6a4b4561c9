package hello_test

import (
	"strings"
	"testing"

	"github.com/toilhq/toil/hello"
	"github.com/toilhq/toil/toiltest"
)

func TestWorld(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "hello world"},
		{[]string{"--name=gopher"}, "hello gopher"},
	} {
		svc := toiltest.Run(t, hello.World, toiltest.Name("hello.world"), toiltest.Args(tc.args...))
		<-svc.Done()
		if err := svc.Err(); err != nil {
			t.Fatalf("args %q: %v", tc.args, err)
		}
		if !strings.Contains(svc.Logs(), tc.want) {
			t.Errorf("args %q: logs do not say %q:\n%s", tc.args, tc.want, svc.Logs())
		}
	}
}
