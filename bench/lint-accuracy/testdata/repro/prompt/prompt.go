// Package action mirrors helm's pkg/action/package.go: a passphrase prompt, whose text must reach
// the terminal the answer is read from.
package action

import (
	"bufio"
	"fmt"
	"os"
)

func promptUser(name string) (string, error) {
	fmt.Printf("Password for key %q >  ", name)
	pw, err := bufio.NewReader(os.Stdin).ReadString('\n')
	fmt.Println()
	return pw, err
}
