// Package verify holds the checks of tlsscope against the outside world:
// a field-by-field differential test against tshark and the baselines
// other projects ship with their captures (see verify_test.go, make verify).
package verify
