// Package cost attributes what Berth's services cost: from OpenCost's Allocation API where a
// cluster has one, and otherwise from Berth's own model, OpenCost's model made small. Every
// sampling interval the Sampler adds, per service environment, what its running pods request
// (and use, where usage is known), the capacity of its bound volumes and its load balancer to
// that hour and that day: billed core-seconds and byte-seconds are the larger of request and
// usage, as OpenCost bills them, priced per core-hour, GiB-hour, GiB-month of storage and
// load-balancer hour (OpenCost's defaults unless configured). Hours older than a week are
// forgotten, their days kept, so storage grows with services and days, not pods or minutes.
//
// The sampler runs on every Berth replica: each slot of the interval counts once, whichever
// replica writes it first (a last_slot guard on the hour, and the day counts what the hour
// took, in one transaction), and compaction only deletes hours. A slot no replica sampled (all
// were down) is not counted: the model never invents usage.
//
// Alerts also run on every replica: a month's alert of an environment is claimed in the
// database with its audit event, and each webhook delivery is leased to one replica.
package cost
