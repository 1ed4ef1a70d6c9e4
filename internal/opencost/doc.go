// Package opencost is a small client of OpenCost's Allocation API (GET /allocation), one per
// cluster: OpenCost's Go module is not something Berth depends on, its HTTP API is.
//
// Costs of one service are asked with OpenCost's filter language (namespace and the
// service's label) where the server supports it, and always with aggregate=namespace plus the
// service label, so that a server that ignores the filter still answers with keys Berth picks
// its own from.
package opencost
