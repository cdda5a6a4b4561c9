package hello

import (
	"strings"
	"testing"

	"github.com/toilhq/toil/toiltest"
)

func TestRunGreets(t *testing.T) {
	t.Parallel()
	svc := toiltest.Run(t, Run, toiltest.Config("greeting: hi there"))
	if err := svc.Err(); err != nil {
		t.Fatalf("Run returned %v", err)
	}
	if !strings.Contains(svc.Logs(), "hi there") {
		t.Errorf("the log lacks the configured greeting:\n%s", svc.Logs())
	}
}
