package lib

import "log"

const marker = "DEBUG: state"

func f(l *log.Logger, msg string) {
	log.Printf("DEBUG x=%d", 1)       // want `log.Printf with debug marker "DEBUG"`
	log.Println("debug: here we are") // want `log.Println with debug marker "debug:"`
	log.Print(">>> got here")         // want `log.Print with debug marker ">>>"`
	log.Print("  [XXX] remove me")    // want `log.Print with debug marker "XXX"`
	log.Print("HERE")                 // want `log.Print with debug marker "HERE"`
	l.Printf("!!! %v", msg)           // want `log.Logger.Printf with debug marker "!!!"`
	log.Print(marker)                 // want `log.Print with debug marker "DEBUG"`
	log.Printf("Debugger attached: %s", msg)
	log.Print("HEREDOC parsed")
	log.Print("debug mode enabled")
	log.Print(msg) // not a constant: the author's intent is unknown
	log.Printf("listening on %s", msg)
}
