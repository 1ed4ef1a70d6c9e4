// Package cost attributes what Berth's services cost: from OpenCost's Allocation API where a
// cluster has one, and otherwise from Berth's own model, OpenCost's model made small. Every
// sampling interval the Sampler adds, per service environment, what its running pods request
// (and use, where usage is known) to that hour: billed core-seconds and byte-seconds are the
// larger of request and usage, as OpenCost bills them, priced per core-hour and GiB-hour
// (OpenCost's defaults unless configured). Hours older than a week fold into days, so storage
// grows with services and days, not pods or minutes.
//
// The sampler runs on every Berth replica: each slot of the interval counts once, whichever
// replica writes it first (a last_slot guard in the database), and compaction deletes the hours
// it folds before adding them, so two replicas at once count nothing twice. A slot no replica
// sampled (all were down) is not counted: the model never invents usage.
package cost
