"""The rollout engine: Argo Rollouts semantics behind small typed interfaces; never imports the local platform."""
