// Command bare is the baseline of the HTTP benchmark: net/http's hello
// world, on DefaultServeMux, listening on $PORT.
package main

import (
	"io"
	"log"
	"net/http"
	"os"
)

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello world\n")
	})
	log.Fatal(http.ListenAndServe(":"+os.Getenv("PORT"), nil))
}
