// Package scaffolderactions embeds the declarative scaffolder action definitions (one YAML
// file per action) so that Berth serves them at GET /api/v1/actions and the TypeScript
// scaffolder module stays a thin loop over what the API describes.
package scaffolderactions

import "embed"

// FS holds every *.yaml file of this folder.
//
//go:embed *.yaml
var FS embed.FS
