"""The rollout dashboard: one page served by the controller, its login, and proxies to Prometheus and the judge."""
