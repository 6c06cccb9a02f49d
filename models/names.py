"""What a model's name and a version may be: checked where they are given (packaging, the stack, the CLI)."""

# A model's name goes into URLs, metric labels and, on a cluster, object names such as
# "<name>-fault-admin" and "<name>-public-canary-header-deny": a DNS label, short enough for those.
NAME_PATTERN = r"^[a-z]([-a-z0-9]{0,30}[a-z0-9])?$"
# A version is a Kubernetes label value, a folder name and part of Envoy's stat names, which a dot would split.
VERSION_PATTERN = r"^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$"
