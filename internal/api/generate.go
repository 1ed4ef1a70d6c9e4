// Package api holds only what oapi-codegen generates from openapi/berth.yaml: the models, the
// strict echo server interface and the embedded spec. The hand-written server is in
// internal/server. Never edit *.gen.go by hand: change the spec and run `make generate`.
package api

//go:generate go tool oapi-codegen -config oapi-codegen.yaml ../../openapi/berth.yaml
