package clitool

import (
	"github.com/spf13/cobra"
)

var Root = &cobra.Command{Use: "tool"}
