// Package rightsize recommends each container's requests and limits from what it used: a
// usage quantile over a window (from Prometheus) divided by a target utilisation, with floors,
// as Kubecost sizes requests; limits keep the container's limit-to-request ratio, and a memory
// limit never falls below the highest working set seen with headroom. Each recommendation says
// what it saves (or costs) a month at the cost model's prices. It reads, never changes, the
// workloads: applying a recommendation is a change to the service's values in Git.
package rightsize
