"""``canary dashboard``: the controller's dashboard URL; ``--open`` opens a browser already logged in."""

import argparse
import getpass
import os
import sys
import webbrowser

from canary.cli.errors import EXIT_FAIL, EXIT_OK, one_line_errors
from canary.local.client import ControlClient
from canary.local.settings import StackSettings


@one_line_errors(lambda args: "dashboard")
def dashboard(settings: StackSettings, args: argparse.Namespace) -> int:
    """Print the URL; with --open (or --login-url) a one-time login link, spent on first use."""
    client = ControlClient(settings.run_dir, user=os.environ.get("CANARY_USER") or getpass.getuser())
    base = client.state["api"]
    client.get(events=0)  # the controller answers, or NotRunning says how to start one
    if not (args.open or args.login_url):
        print(f"dashboard: {base}/ (read-only until you log in; 'canary dashboard --open' logs a browser in)")
        return EXIT_OK
    # A one-time code valid for a minute, which the page's redirect removes from the address bar:
    # the control token itself never appears in a URL.
    url = base + client.post("/login-codes")["path"]
    if args.login_url:
        print(url)
        return EXIT_OK
    if not webbrowser.open(url):
        print(f"canary dashboard: no browser to open here; open this one-time link within a minute: {url}",
              file=sys.stderr)
        return EXIT_FAIL
    print(f"dashboard: {base}/ opened in a browser, logged in")
    return EXIT_OK
