// Package signals reads a service's golden signals from Prometheus over its HTTP API: latency
// percentiles, request rate, error ratio and saturation (CPU and memory used, beside what the
// pods request and may use at most). The PromQL is a template per blueprint runtime that the
// platform can replace (a file of queries), filled with the environment's namespace and the
// service's name only, so no caller writes PromQL. Requests and limits come from the pods
// themselves (Berth's informers), not from Prometheus.
//
// A series Prometheus does not have is reported as missing, with the query that found
// nothing, so a platform engineer sees what to scrape or relabel.
package signals
