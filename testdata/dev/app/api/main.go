// Command api is a plain main package in toil dev's test fixture: it
// knows nothing of toil and serves on PORT, as existing programs do.
package main

import (
	"fmt"
	"net/http"
	"os"
)

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "api on %s, REDIS_URL=%s\n", r.URL.Path, os.Getenv("REDIS_URL"))
	})
	if err := http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
