// Package nolintupper has only a nolint naming a rule in upper case, which
// suppresses nothing.
package nolintupper

func A() {} //nolint:FMTPRINT // an upper-case rule name still counts
