"""A Kubernetes control plane and the Argo Rollouts controller as local processes, built from upstream Go modules."""
