"""The fault admin endpoint's paths and token check, the same for every runtime."""

import hmac

from servers.errors import AdminDisabled, Unauthorized

FAULTS_PATH = "/ml-canary/v1/faults"
READY_PATH = "/ml-canary/v1/ready"
VERSION_HEADER = "x-model-version"


def authorise(authorization: str | None, admin_token: str) -> None:
    """Accept ``Authorization: Bearer <admin_token>``; raise 403 if no token is set, 401 if wrong."""
    if not admin_token:
        raise AdminDisabled("runtime fault changes are off: start the server with FAULT_ADMIN_TOKEN set")
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), admin_token.encode()):
        raise Unauthorized("missing or wrong admin token: send 'Authorization: Bearer <FAULT_ADMIN_TOKEN>'")
