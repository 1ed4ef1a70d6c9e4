// Package tenancy owns teams and their role assignments (members): creating, changing and
// removing them with Berth's own authorisation checked first and an audit event written in
// the same transaction. Later it also owns each team's environments and namespaces. It never
// sees HTTP and holds no SQL of its own (internal/store does).
package tenancy
