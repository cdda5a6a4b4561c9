package directive

import "fmt"

//toil:file-ignore fmtprint this file renders a report for the CLI

func k() { fmt.Println("report") }
