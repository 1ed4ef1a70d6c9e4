// Package lead runs work on one Berth replica at a time: client-go's leader election on a
// Lease in Berth's own cluster. The leader runs the work until it loses the lease (it stops
// within the renew deadline) or ends; the others wait and take over within the lease
// duration. Work run this way must still be idempotent: a leader that stalls past its lease
// can act once more before it notices.
//
// Which loops are led: the sleep schedules (each transition once, one audit event). Safe on
// every replica (claimed in the database): the cost sampler and alerts, the findings record,
// runs (claimed by a lease column).
package lead
