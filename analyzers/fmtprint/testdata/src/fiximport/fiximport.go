package fiximport

import (
	"fmt"
	"os"
)

func f() {
	// want +1 `fmt.Println call`
	fmt.Println(os.Args)
}
