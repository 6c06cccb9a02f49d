"""``python -m servers.seldon_bind HOST <seldon-core-microservice arguments>``: the Seldon wrapper on one address.

seldon-core's microservice (1.18, ``seldon_core/microservice.py``: ``_make_rest_server_prod``,
``_make_rest_metrics_server`` and ``_make_grpc_server``) binds its REST, metrics and gRPC
servers to 0.0.0.0 and has no flag for it. On a person's machine that puts inference and
feedback on the LAN. This launcher rewrites the two places the address is used (gunicorn's
``bind`` option and gRPC's ``add_insecure_port``) and then runs the wrapper's own ``main``.
A pod keeps the plain command and every interface.
"""

import os
import sys

import grpc._server
from seldon_core import gunicorn_utils, microservice

EVERY_INTERFACE = "0.0.0.0:"


def rebind(address: str, host: str) -> str:
    """``address`` moved from every interface to ``host`` (anything else is left as it is)."""
    return host + ":" + address[len(EVERY_INTERFACE):] if address.startswith(EVERY_INTERFACE) else address


def bind_to(host: str) -> None:
    """Make the wrapper's servers, in this process and the workers it forks, listen on ``host``."""
    load_config = gunicorn_utils.StandaloneApplication.load_config
    add_port = grpc._server._Server.add_insecure_port

    def load_config_on_host(app) -> None:
        app.options["bind"] = rebind(app.options["bind"], host)
        load_config(app)

    gunicorn_utils.StandaloneApplication.load_config = load_config_on_host
    grpc._server._Server.add_insecure_port = lambda server, address: add_port(server, rebind(address, host))


def main() -> None:
    """Bind to the first argument, then run seldon-core-microservice with the rest."""
    if len(sys.argv) < 3 or sys.argv[1].startswith("-"):
        sys.exit("usage: python -m servers.seldon_bind HOST <seldon-core-microservice arguments>")
    # Debug mode serves through Flask's own app.run(host="0.0.0.0"), which neither call above reaches.
    if "--debug" in sys.argv or os.environ.get("SELDON_DEBUG", "").lower() in ("1", "true", "yes"):
        sys.exit("servers.seldon_bind: the wrapper's debug mode binds every interface; run it without --debug")
    bind_to(sys.argv.pop(1))
    microservice.main()


if __name__ == "__main__":
    main()
