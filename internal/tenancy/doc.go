// Package tenancy owns teams and their role assignments (members): creating, changing and
// removing them with Berth's own authorisation checked first and an audit event written in
// the same transaction. Later it also owns each team's environments and namespaces. It never
// sees HTTP and holds no SQL of its own (internal/store does).
//
// The reconcilers run on every replica: a reconcile server-side applies the desired state of a
// namespace under one field manager, so a second replica's apply of the same state changes
// nothing, and the status it stores is the same.
package tenancy
