// Package logger calls a *log.Logger method from a file that does not
// import log.
package logger

import "log"

var L = log.Default()
