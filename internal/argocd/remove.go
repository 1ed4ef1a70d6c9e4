package argocd

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// RemoveApplications deletes the Applications Berth made for team: all of them, or those of
// one environment (env != ""), or of one service (service != ""). Only objects labelled with
// the team's id are selected, so another team's are never touched. The deletion does not
// cascade (Berth sets no resources finalizer): the team's namespaces go next, with what runs
// in them. It returns the names deleted.
func (a *Client) RemoveApplications(ctx context.Context, t Team, service, env string) ([]string, error) {
	sel := labels.Set{LabelManagedBy: ManagedBy, LabelTeamID: t.ID}
	if service != "" {
		sel[LabelService] = service
	}
	if env != "" {
		sel[LabelEnv] = env
	}
	apps := a.client.ArgoprojV1alpha1().Applications(a.namespace)
	list, err := apps.List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, fmt.Errorf("list applications of team %s: %w", t.Name, err)
	}
	var gone []string
	for _, app := range list.Items {
		if err := apps.Delete(ctx, app.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return gone, fmt.Errorf("delete application %s: %w", app.Name, err)
		}
		gone = append(gone, app.Name)
	}
	return gone, nil
}

// RemoveProject deletes the team's AppProject if Berth made it for this team.
func (a *Client) RemoveProject(ctx context.Context, t Team) error {
	projects := a.client.ArgoprojV1alpha1().AppProjects(a.namespace)
	cur, err := projects.Get(ctx, ProjectName(t), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if !owned(cur.Labels, t, "", "") {
		return foreign("AppProject", a.namespace, cur.Name)
	}
	err = projects.Delete(ctx, cur.Name, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// RemoveUnowned deletes Applications Berth made before it labelled them with a team id
// (named <team>-<service>-<env>), when their folders move under the team: the moved
// services get new Applications. The deletion does not cascade: what they deployed keeps
// running and the new Applications take it over.
func (a *Client) RemoveUnowned(ctx context.Context) ([]string, error) {
	apps := a.client.ArgoprojV1alpha1().Applications(a.namespace)
	list, err := apps.List(ctx, metav1.ListOptions{LabelSelector: LabelManagedBy + "=" + ManagedBy + "," + "!" + LabelTeamID})
	if err != nil {
		return nil, err
	}
	var gone []string
	for _, app := range list.Items {
		if len(app.Finalizers) > 0 {
			// A finalizer would cascade; Berth never set one, so this is not an object of ours.
			continue
		}
		if err := apps.Delete(ctx, app.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return gone, err
		}
		gone = append(gone, app.Name)
	}
	return gone, nil
}
