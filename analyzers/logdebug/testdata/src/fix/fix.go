package fix

import "log"

func f() {
	// want +1 `log.Print with debug marker "HERE"`
	log.Print("HERE")
}
