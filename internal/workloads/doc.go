// Package workloads keeps what Berth's services run in shared informers, one set per cluster:
// Deployments, ReplicaSets, pods, HPAs, Services, Ingresses and PodDisruptionBudgets that
// Berth's blueprints label (app.kubernetes.io/managed-by=berth), and the events of the
// namespaces they are in, each with managedFields dropped. A view of one service environment
// is read from those caches, never from a LIST per request. Registry follows the fleet's
// clusters (it is a fleet attachment).
package workloads
