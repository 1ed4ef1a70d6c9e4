// Package blueprint owns ServiceBlueprints: their format (typed parameters with defaults),
// the built-in ones and those platform engineers add from a folder, validation of a
// developer's parameters, the JSON Schema that Backstage forms are generated from, and
// rendering a service into files for the GitOps repository. Rendering builds typed Kubernetes
// objects and serialises them; user input never meets a text template. It does no I/O beyond
// reading blueprint files.
package blueprint
