"""The rendered default overlay, shared by the manifest tests."""

import pytest

from tests.k8s.support import render


@pytest.fixture(scope="module")
def mlserver():
    return render("overlays/mlserver")


@pytest.fixture(scope="module")
def docs(mlserver):
    """The same render, under the name the metrics and alerting tests read it by."""
    return mlserver
