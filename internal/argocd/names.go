package argocd

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/berth-platform/berth/internal/access"
)

// Labels that say which team, service and environment an Argo CD object belongs to. Berth
// alone writes them (teams have no access to Argo CD's namespace), and Berth changes or
// deletes an object only when they name the team it acts for.
// The first five are the labels of every object Berth manages (internal/access).
const (
	LabelManagedBy = access.LabelManagedBy
	ManagedBy      = access.ManagedBy
	LabelTeam      = access.LabelTeam
	LabelTeamID    = access.LabelTeamID
	LabelEnv       = access.LabelEnv
	LabelService   = "berth.dev/service"
)

// maxName keeps names within a label value's 63 characters: Argo CD writes an Application's
// name into the label or annotation that tracks its resources.
const maxName = 63

// Team is the team an Argo CD object belongs to: its stable id and its current name.
type Team struct{ ID, Name string }

// ProjectName is a team's AppProject. Team names are unique only at a time, so the name also
// carries a hash of the team's id: a later team of the same name gets a project of its own.
func ProjectName(t Team) string { return derived("team-"+t.Name, t.ID) }

// AppName is the Application of one service environment: readable parts, then a hash of the
// team's id, the service and the environment, so that no two (team, service, environment)
// share a name however their names join ("a-b"+"c" and "a"+"b-c" differ in the hash).
func AppName(t Team, service, env string) string {
	return derived(t.Name+"-"+service+"-"+env, t.ID+"/"+service+"/"+env)
}

// owned reports whether labels say Berth made the object for team (and, for an
// Application, for this service and environment).
func owned(labels map[string]string, t Team, service, env string) bool {
	return labels[LabelManagedBy] == ManagedBy && labels[LabelTeamID] == t.ID &&
		labels[LabelService] == service && labels[LabelEnv] == env
}

func ownerLabels(t Team, service, env string) map[string]string {
	l := map[string]string{LabelManagedBy: ManagedBy, LabelTeam: t.Name, LabelTeamID: t.ID}
	if service != "" {
		l[LabelService], l[LabelEnv] = service, env
	}
	return l
}

// derived is readable, truncated so that it and a 12-digit hash of key fit maxName.
func derived(readable, key string) string {
	sum := sha256.Sum256([]byte(key))
	h := hex.EncodeToString(sum[:6])
	if room := maxName - len(h) - 1; len(readable) > room {
		readable = readable[:room]
	}
	return strings.TrimRight(readable, "-") + "-" + h
}
