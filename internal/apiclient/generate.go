// Package apiclient is the Go client generated from openapi/berth.yaml, for tests, the CLI
// and any Go program that calls Berth. Never edit *.gen.go by hand.
package apiclient

//go:generate go tool oapi-codegen -config oapi-codegen.yaml ../../openapi/berth.yaml
