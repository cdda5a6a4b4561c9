package lib

import (
	"log"
	"testing"
)

func TestF(t *testing.T) { log.Print("DEBUG tests may") }
