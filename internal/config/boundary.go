package config

import (
	"errors"
	"flag"
	"fmt"
	"strings"
)

// Boundary holds what keeps teams apart: which namespaces no environment may take, how
// public hosts are named and where they may live, and how many teams one person may create.
type Boundary struct {
	// ReservedNamespaces are names ("default") and prefixes ("kube-*") no team namespace may
	// have: the cluster's and its components' own.
	ReservedNamespaces []string
	// HostPattern names each environment's public host; {service}, {env} and {team} are
	// replaced.
	HostPattern string
	// HostDomains are the domains public hosts must be under (default: the pattern's own).
	HostDomains []string
	// TLSIssuer, when set, is the cert-manager ClusterIssuer annotated on every Ingress.
	TLSIssuer string
	// TLSSecret, when set, is the Secret (a wildcard certificate) every Ingress uses instead
	// of a Secret per service.
	TLSSecret string
	// MaxTeamsPerUser bounds how many teams one caller (not a platform admin) may create; 0
	// means no bound.
	MaxTeamsPerUser int
}

// DefaultReservedNamespaces are the namespaces of Kubernetes and of the components a
// platform usually runs: a team environment never takes one over.
var DefaultReservedNamespaces = []string{"default", "kube-*", "berth*", "argocd*", "kyverno*", "ingress-*", "cert-manager*",
	"crossplane-*", "monitoring", "prometheus*", "opencost*", "gatekeeper-*", "istio-*", "linkerd*", "flux-system", "local-path-storage",
	"openshift*", "tigera-*", "calico-*", "metallb-*", "external-dns*", "velero*", "vault*", "kwok*"}

func bindBoundary(fs *flag.FlagSet, c *Config) {
	c.Boundary.ReservedNamespaces = append([]string(nil), DefaultReservedNamespaces...)
	fs.Var((*replaceList)(&c.Boundary.ReservedNamespaces), "reserved-namespaces",
		"namespace names (and prefixes ending in *) no team environment may have; default "+strings.Join(DefaultReservedNamespaces, ","))
	fs.StringVar(&c.Boundary.HostPattern, "host-pattern", "{service}.{env}.{team}.apps.example.com", "public host of each environment of a public service; {service}, {env} and {team} are replaced")
	fs.Var((*replaceList)(&c.Boundary.HostDomains), "host-domains", "domains public hosts (the pattern's and custom ones) must be under, comma-separated; default the pattern's fixed suffix")
	fs.StringVar(&c.Boundary.TLSIssuer, "ingress-tls-issuer", "", "cert-manager ClusterIssuer annotated on every Ingress (cert-manager.io/cluster-issuer), so each host gets a certificate")
	fs.StringVar(&c.Boundary.TLSSecret, "ingress-tls-secret", "", "Secret holding a wildcard certificate that every Ingress uses, instead of <service>-tls")
	fs.IntVar(&c.Boundary.MaxTeamsPerUser, "max-teams-per-user", 20, "how many teams one caller may create (platform admins are not bound); 0 for no bound")
	fs.StringVar(&c.OIDCGroupPrefix, "oidc-group-prefix", "oidc:", "prefix added to OIDC group names, so an IdP group can never be a Backstage group or a Berth principal")
}

// PatternDomain is the fixed suffix of a host pattern: what follows its last placeholder.
func PatternDomain(pattern string) string {
	i := strings.LastIndex(pattern, "}")
	return strings.TrimPrefix(pattern[i+1:], ".")
}

// prefixesOfOtherMethods are the subject namespaces of Backstage and service tokens.
var prefixesOfOtherMethods = []string{"user:", "group:", "service:", "system:"}

func (c *Config) validateBoundary() []error {
	var errs []error
	b := &c.Boundary
	for _, r := range b.ReservedNamespaces {
		if !dnsLabel.MatchString(strings.TrimSuffix(r, "*")) && !strings.HasSuffix(r, "-*") {
			errs = append(errs, fmt.Errorf("--reserved-namespaces: %q is not a namespace name or a prefix ending in *", r))
		}
	}
	p := b.HostPattern
	for _, ph := range []string{"{service}", "{env}", "{team}"} {
		if strings.Count(p, ph) != 1 {
			errs = append(errs, fmt.Errorf("--host-pattern: %q must contain %s once, so that every environment of every service has a host of its own", p, ph))
		}
	}
	probe := strings.NewReplacer("{service}", "s", "{env}", "e", "{team}", "t").Replace(p)
	if !hostName.MatchString(probe) {
		errs = append(errs, fmt.Errorf("--host-pattern: %q does not give a DNS name", p))
	}
	if len(b.HostDomains) == 0 && PatternDomain(p) != "" {
		b.HostDomains = []string{PatternDomain(p)}
	}
	for _, d := range b.HostDomains {
		if !hostName.MatchString(d) {
			errs = append(errs, fmt.Errorf("--host-domains: %q is not a domain name", d))
		}
	}
	if b.MaxTeamsPerUser < 0 {
		errs = append(errs, errors.New("--max-teams-per-user: 0 or more"))
	}
	prefixes := map[string]string{"--oidc-user-prefix": c.OIDCUserPrefix, "--oidc-group-prefix": c.OIDCGroupPrefix}
	if c.OIDCIssuer == "" {
		prefixes = nil
	}
	for name, prefix := range prefixes {
		if prefix == "" || !strings.HasSuffix(prefix, ":") {
			errs = append(errs, fmt.Errorf("%s: %q must be a non-empty prefix ending in ':' (an IdP name must never be read as another method's subject)", name, prefix))
			continue
		}
		for _, other := range prefixesOfOtherMethods {
			if strings.HasPrefix(other, prefix) || strings.HasPrefix(prefix, other) {
				errs = append(errs, fmt.Errorf("%s: %q overlaps %q, the subjects of another way in", name, prefix, other))
			}
		}
	}
	return errs
}

// GroupRole is one --scim-group-roles entry: an IdP group's members get Role in a team named
// by Team or, with GROUP=id:TEAM-ID:ROLE, by TeamID.
type GroupRole struct {
	Group, Team, TeamID, Role string
}

// ParseGroupRole reads GROUP=TEAM:ROLE or GROUP=id:TEAM-ID:ROLE.
func ParseGroupRole(s string) (GroupRole, error) {
	bad := fmt.Errorf("%q is not GROUP=TEAM:ROLE or GROUP=id:TEAM-ID:ROLE (ROLE viewer, editor or admin)", s)
	// The last "=": group names may hold one (LDAP-style names), team names cannot.
	eq := strings.LastIndex(s, "=")
	if eq < 0 {
		return GroupRole{}, bad
	}
	rest := s[eq+1:]
	i := strings.LastIndex(rest, ":")
	if i < 0 {
		return GroupRole{}, bad
	}
	g := GroupRole{Group: strings.TrimSpace(s[:eq]), Role: strings.TrimSpace(rest[i+1:])}
	team := strings.TrimSpace(rest[:i])
	if id, byID := strings.CutPrefix(team, "id:"); byID {
		g.TeamID = strings.TrimSpace(id)
		if g.TeamID == "" || strings.Contains(g.TeamID, ":") {
			return GroupRole{}, bad
		}
	} else if g.Team = team; !dnsLabel.MatchString(team) {
		return GroupRole{}, bad
	}
	if g.Group == "" || (g.Role != "viewer" && g.Role != "editor" && g.Role != "admin") {
		return GroupRole{}, bad
	}
	return g, nil
}
