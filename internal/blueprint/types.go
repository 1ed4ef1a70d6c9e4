package blueprint

// APIVersion and Kind of a blueprint document.
const (
	APIVersion = "berth.dev/v1alpha1"
	Kind       = "ServiceBlueprint"
)

// Blueprint is a parameterised archetype of a service.
type Blueprint struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Metadata   Metadata `json:"metadata"`
	Spec       Spec     `json:"spec"`
	// Source is where the catalog found it: builtin, folder, or git@<commit>.
	Source string `json:"-"`
}

// Metadata names a blueprint.
type Metadata struct {
	Name        string `json:"name"`
	Title       string `json:"title"`
	Description string `json:"description"`
}

// Spec is what a blueprint asks and what it produces.
type Spec struct {
	// Runtime picks the Dockerfile and CI pipeline: node, go or worker-node / worker-go.
	Runtime        Runtime        `json:"runtime"`
	Parameters     []Parameter    `json:"parameters"`
	Workload       Workload       `json:"workload"`
	Produces       Produces       `json:"produces"`
	Infrastructure Infrastructure `json:"infrastructure,omitempty"`
}

// Runtime is the language toolchain of the service.
type Runtime struct {
	Language string `json:"language"` // node or go
	// VersionParameter names the enum parameter that picks the language version ("" for a fixed Version).
	VersionParameter string `json:"versionParameter,omitempty"`
	Version          string `json:"version,omitempty"`
}

// Workload shapes the Deployment.
type Workload struct {
	// Port is the container port; 0 for a worker that serves nothing but its health endpoint.
	Port          int32  `json:"port,omitempty"`
	HealthPort    int32  `json:"healthPort"`
	LivenessPath  string `json:"livenessPath"`
	ReadinessPath string `json:"readinessPath"`
	CPURequest    string `json:"cpuRequest"`
	MemoryRequest string `json:"memoryRequest"`
	CPULimit      string `json:"cpuLimit"`
	MemoryLimit   string `json:"memoryLimit"`
	// ReplicasParameter names the integer parameter with the replica count.
	ReplicasParameter string `json:"replicasParameter"`
}

// Produces says which optional objects a service gets.
type Produces struct {
	Service bool `json:"service"`
	// PublicParameter names the boolean parameter that adds an Ingress with TLS.
	PublicParameter string `json:"publicParameter,omitempty"`
	Autoscaling     bool   `json:"autoscaling"`
	// MaxReplicasParameter names the integer parameter of the autoscaler's ceiling.
	MaxReplicasParameter string `json:"maxReplicasParameter,omitempty"`
	DisruptionBudget     bool   `json:"disruptionBudget"`
}

// Infrastructure is what a service requests beyond Kubernetes objects.
type Infrastructure struct {
	// DatabaseParameter names the boolean parameter that requests a PostgreSQL database.
	DatabaseParameter string `json:"databaseParameter,omitempty"`
}

// Parameter types.
const (
	TypeEnum    = "enum"
	TypeInteger = "integer"
	TypeBoolean = "boolean"
	TypeString  = "string"
)

// Parameter is one typed input of a blueprint.
type Parameter struct {
	Name        string   `json:"name"`
	Title       string   `json:"title,omitempty"`
	Description string   `json:"description,omitempty"`
	Type        string   `json:"type"`
	Options     []string `json:"options,omitempty"`
	Min         *int64   `json:"min,omitempty"`
	Max         *int64   `json:"max,omitempty"`
	Pattern     string   `json:"pattern,omitempty"`
	MaxLength   int      `json:"maxLength,omitempty"`
	Default     any      `json:"default,omitempty"`
	Required    bool     `json:"required,omitempty"`
}
