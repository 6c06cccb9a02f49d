"""The rendered default overlay, shared by the manifest tests."""

import pytest

from tests.k8s.support import render


@pytest.fixture(scope="module")
def mlserver():
    return render("overlays/mlserver")
