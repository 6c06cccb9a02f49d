"""Errors that carry the HTTP status a client should see."""


class ServingError(Exception):
    """Base class: ``status_code`` is what the runtime answers with."""

    status_code = 500


class InvalidInput(ServingError):
    """The request cannot be scored as sent; the message names the problem."""

    status_code = 400


class InjectedFault(ServingError):
    """A failure injected on purpose, as a 500 that success-rate analysis counts.

    Not 503: Istio's default retry policy retries 503s, which would hide the
    canary's errors from the analysis; and MLServer maps 500 to gRPC INTERNAL.
    """

    status_code = 500


class Unauthorized(ServingError):
    """Missing or wrong admin token."""

    status_code = 401


class AdminDisabled(ServingError):
    """No admin token is configured, so runtime fault changes are off."""

    status_code = 403


class NotReady(ServingError):
    """Readiness is failing (for example the ``unready`` fault)."""

    status_code = 503
