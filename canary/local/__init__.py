"""The one-machine platform: processes, Envoy, Prometheus, runtimes and the stack API, adapted to the engine."""
