package store

import (
	"context"
	"fmt"
	"time"
)

// Cluster is a registered cluster. Credentials are sealed; store never sees them in clear.
type Cluster struct {
	ID          string    `db:"id"`
	Name        string    `db:"name"`
	Server      string    `db:"server"`
	CAData      string    `db:"ca_data"`
	Credentials string    `db:"credentials"`
	CreatedAt   time.Time `db:"-"`
	UpdatedAt   time.Time `db:"-"`
}

type clusterRow struct {
	Cluster
	CreatedAtUS int64 `db:"created_at"`
	UpdatedAtUS int64 `db:"updated_at"`
}

func (r clusterRow) cluster() Cluster {
	c := r.Cluster
	c.CreatedAt, c.UpdatedAt = fromMicros(r.CreatedAtUS), fromMicros(r.UpdatedAtUS)
	return c
}

const clusterCols = "id, name, server, ca_data, credentials, created_at, updated_at"

// CreateCluster inserts c; a taken name is ErrConflict.
func (q Queries) CreateCluster(ctx context.Context, c Cluster) error {
	_, err := q.exec(ctx, "INSERT INTO clusters ("+clusterCols+") VALUES (?, ?, ?, ?, ?, ?, ?)",
		c.ID, c.Name, c.Server, c.CAData, c.Credentials, micros(c.CreatedAt), micros(c.UpdatedAt))
	if err != nil {
		return fmt.Errorf("register cluster %s: %w", c.Name, err)
	}
	return nil
}

// ClusterByName returns a cluster or ErrNotFound.
func (q Queries) ClusterByName(ctx context.Context, name string) (Cluster, error) {
	var r clusterRow
	if err := q.get(ctx, &r, "SELECT "+clusterCols+" FROM clusters WHERE name = ?", name); err != nil {
		return Cluster{}, fmt.Errorf("cluster %s: %w", name, err)
	}
	return r.cluster(), nil
}

// ListClusters returns every registered cluster by name.
func (q Queries) ListClusters(ctx context.Context) ([]Cluster, error) {
	var rows []clusterRow
	if err := q.selectAll(ctx, &rows, "SELECT "+clusterCols+" FROM clusters ORDER BY name"); err != nil {
		return nil, fmt.Errorf("list clusters: %w", err)
	}
	out := make([]Cluster, len(rows))
	for i, r := range rows {
		out[i] = r.cluster()
	}
	return out, nil
}

// DeleteCluster removes a cluster.
func (q Queries) DeleteCluster(ctx context.Context, id string) error {
	_, err := q.exec(ctx, "DELETE FROM clusters WHERE id = ?", id)
	return err
}

// EnvironmentsOnCluster counts the environments placed on a cluster.
func (q Queries) EnvironmentsOnCluster(ctx context.Context, name string) (int, error) {
	var n int
	err := q.get(ctx, &n, "SELECT COUNT(*) FROM environments WHERE cluster = ?", name)
	return n, err
}

// PlaceEnvironment moves an environment to a cluster (” for Berth's own).
func (q Queries) PlaceEnvironment(ctx context.Context, id, cluster string, at time.Time) error {
	_, err := q.exec(ctx, "UPDATE environments SET cluster = ?, phase = 'Pending', updated_at = ? WHERE id = ?", cluster, micros(at), id)
	return err
}
