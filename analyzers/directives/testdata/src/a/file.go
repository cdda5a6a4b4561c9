package a

//toil:file-ignore breakpoint nothing here calls it // want `//toil:file-ignore for breakpoint suppresses nothing`

//toil:file-ignore fmtprint this file renders a report

import "fmt"

func report() { fmt.Println("report") }
