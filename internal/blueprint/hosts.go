package blueprint

import (
	"slices"
	"strings"

	"github.com/berth-platform/berth/internal/errs"
)

// HostNamer names the public hosts of a service: one per environment from a pattern (so dev,
// staging and prod never share one), and a custom host, when the developer gives one, for
// the production environment only. Every host must lie under one of Domains.
type HostNamer struct {
	// Pattern holds {service}, {env} and {team}, e.g. {service}.{env}.{team}.apps.example.com.
	Pattern string
	Domains []string
	// Production are the environments a custom host is for, in order of preference (the
	// manually synced ones, prod by default); the first one the service deploys to gets it.
	Production []string
	// TLSIssuer (a cert-manager ClusterIssuer) is annotated on each Ingress; TLSSecret, when
	// set, is the wildcard certificate every Ingress uses.
	TLSIssuer, TLSSecret string
}

// DefaultHosts is the namer of tests and of a configuration that sets none.
var DefaultHosts = HostNamer{Pattern: "{service}.{env}.{team}.apps.example.com", Domains: []string{"apps.example.com"}, Production: []string{"prod"}}

// URL is the address a host serves at: https, since every Ingress Berth renders has TLS
// (the platform's secret, or one per service that its issuer fills).
func (h HostNamer) URL(host string) string {
	return "https://" + host
}

// Hosts returns the host of each environment (by name) of a public service; custom is the
// developer's host parameter, "" for none.
func (h HostNamer) Hosts(team, service string, envs []string, custom string) (map[string]string, error) {
	out := map[string]string{}
	prod := ""
	for _, p := range h.Production {
		if slices.Contains(envs, p) {
			prod = p
			break
		}
	}
	if custom != "" {
		if prod == "" {
			return nil, errs.Invalid("/parameters/host", "a custom host is for the production environment (%s), which this service does not deploy to; leave it out to get a host per environment", strings.Join(h.Production, " or "))
		}
		if !h.allowed(custom) {
			return nil, errs.Invalid("/parameters/host", "host %s is not under an allowed domain (%s)", custom, strings.Join(h.Domains, ", "))
		}
	}
	for _, e := range envs {
		if e == prod && custom != "" {
			out[e] = custom
			continue
		}
		host := strings.NewReplacer("{service}", service, "{env}", e, "{team}", team).Replace(h.Pattern)
		if !h.allowed(host) {
			return nil, errs.Invalid("/name", "host %s (from the platform's host pattern) is not under an allowed domain", host)
		}
		out[e] = host
	}
	return out, nil
}

func (h HostNamer) allowed(host string) bool {
	if len(host) > 253 {
		return false
	}
	for _, d := range h.Domains {
		if strings.HasSuffix(host, "."+d) {
			return true
		}
	}
	return false
}
