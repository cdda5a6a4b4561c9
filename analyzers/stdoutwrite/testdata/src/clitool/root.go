package clitool

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

var Root = &cobra.Command{Use: "tool"}

func out() { fmt.Fprintln(os.Stdout, "a command writes its output") }
