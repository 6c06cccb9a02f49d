"""The one-machine mode: real runtimes, Envoy and Prometheus processes, and the rollout engine."""
