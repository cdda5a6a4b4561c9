package clitool

import (
	"github.com/k0kubun/pp/v3"
	"github.com/spf13/cobra"
)

var Root = &cobra.Command{Use: "tool"}

func show(v any) { pp.Println(v) }
