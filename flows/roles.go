package flows

import "github.com/tlsscope/tlsscope/decoder"

// The connection table keeps per-side facts by direction (0: the side
// first guessed to be the client); a Result has them by role. These two
// apply the roles, once, when the result is made; cd is the client's
// direction.

// byRole puts a pair indexed by direction in role order: client, server.
func byRole[T any](pair *[2]T, cd int) {
	if cd == 1 {
		pair[0], pair[1] = pair[1], pair[0]
	}
}

// sideOf is the role of the side a direction-indexed fact names.
func sideOf(s decoder.Side, cd int) decoder.Side {
	if cd == 1 {
		return s.Other()
	}
	return s
}
