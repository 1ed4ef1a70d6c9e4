package server

import (
	"context"

	"github.com/berth-platform/berth/internal/api"
	"github.com/berth-platform/berth/internal/store"
	"github.com/berth-platform/berth/internal/tenancy"
)

// defaultCluster is what the API calls Berth's own cluster.
const defaultCluster = "default"

func clusterRef(name string) string {
	if name == "" {
		return defaultCluster
	}
	return name
}

func clusterName(ref *string) string {
	if ref == nil || *ref == defaultCluster {
		return ""
	}
	return *ref
}

func apiCluster(c store.Cluster) api.Cluster {
	return api.Cluster{Name: c.Name, Server: c.Server, CreatedAt: c.CreatedAt}
}

func (s *Server) ListClusters(ctx context.Context, _ api.ListClustersRequestObject) (api.ListClustersResponseObject, error) {
	cs, err := s.deps.Tenancy.ListClusters(ctx)
	if err != nil {
		return nil, err
	}
	out := api.ClusterList{Items: make([]api.Cluster, len(cs))}
	for i, c := range cs {
		out.Items[i] = apiCluster(c)
	}
	return api.ListClusters200JSONResponse(out), nil
}

func (s *Server) RegisterCluster(ctx context.Context, req api.RegisterClusterRequestObject) (api.RegisterClusterResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	b := req.Body
	c, err := s.deps.Tenancy.RegisterCluster(ctx, p, tenancy.NewCluster{Name: b.Name, Server: b.Server, CAData: deref(b.CaData),
		Credentials: tenancy.ClusterCredentials{Token: deref(b.Token), ClientCert: deref(b.ClientCertificateData), ClientKey: deref(b.ClientKeyData)}})
	if err != nil {
		return nil, err
	}
	loc := "/api/v1/clusters/" + c.Name
	return api.RegisterCluster201JSONResponse{Body: apiCluster(c), Headers: api.RegisterCluster201ResponseHeaders{Location: &loc}}, nil
}

func (s *Server) GetCluster(ctx context.Context, req api.GetClusterRequestObject) (api.GetClusterResponseObject, error) {
	c, err := s.deps.Tenancy.GetCluster(ctx, req.Cluster)
	if err != nil {
		return nil, err
	}
	return api.GetCluster200JSONResponse(apiCluster(c)), nil
}

func (s *Server) UnregisterCluster(ctx context.Context, req api.UnregisterClusterRequestObject) (api.UnregisterClusterResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.deps.Tenancy.DeleteCluster(ctx, p, req.Cluster); err != nil {
		return nil, err
	}
	return api.UnregisterCluster204Response{}, nil
}
