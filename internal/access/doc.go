// Package access owns Berth's roles (viewer, editor, admin) and decides what a caller may do:
// platform admins from configuration, team roles from role assignments of the caller and
// their groups. It does not know HTTP, and it does not talk to Kubernetes.
package access
