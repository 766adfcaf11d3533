package main

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// Packets from the network are untrusted input: a live capture run as
// root parses them as an unprivileged user, as tcpdump -Z does. Only
// opening the capture handle needs root (or CAP_NET_RAW and
// CAP_NET_ADMIN); once it is activated, the outputs created and the key
// logs read, the process goes on as --user (default nobody): supplementary
// groups, then group, then user, the order in which each step is still
// allowed. Go's syscall.Setuid and Setgid apply to every thread of the
// process on Linux (since Go 1.16), so no thread keeps root.

// keepRoot is the --user that keeps root.
const keepRoot = "root"

// dropPrivileges makes the process run as the named user when it runs
// as root; it says whom it now runs as, or "" when it did not change.
func dropPrivileges(name string) (string, error) {
	if os.Geteuid() != 0 || name == keepRoot || name == "" {
		return "", nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return "", fmt.Errorf("--user %s: %v (--user root keeps root)", name, err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return "", fmt.Errorf("--user %s: uid %q, gid %q are not numbers", name, u.Uid, u.Gid)
	}
	if uid == 0 {
		return "", nil // another name for root
	}
	// The user's groups, as initgroups(3) sets them; its own group alone
	// when they cannot be listed.
	groups := []int{gid}
	if ids, err := u.GroupIds(); err == nil {
		groups = groups[:0]
		for _, s := range ids {
			if g, err := strconv.Atoi(s); err == nil {
				groups = append(groups, g)
			}
		}
	}
	if err := syscall.Setgroups(groups); err != nil {
		return "", fmt.Errorf("--user %s: setgroups: %v", name, err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return "", fmt.Errorf("--user %s: setgid %d: %v", name, gid, err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return "", fmt.Errorf("--user %s: setuid %d: %v", name, uid, err)
	}
	// Root must be gone for good: a way back would mean the drop did not
	// take.
	if os.Geteuid() != uid || os.Getuid() != uid || syscall.Setuid(0) == nil {
		return "", errors.New("--user " + name + ": root could still be regained")
	}
	return fmt.Sprintf("%s (uid %d, gid %d)", name, uid, gid), nil
}
