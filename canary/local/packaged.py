"""The versions the stack serves: the demo's trained when missing, a person's model only as they packaged it."""

from collections.abc import Callable

from canary.local.settings import StackSettings
from models import artifacts, train
from servers import repository


class NotPackaged(ValueError):
    """A version the stack cannot serve: not packaged, or another model's."""


def check(settings: StackSettings, version: str) -> None:
    """Refuse a version that is not packaged, or is another model's, before any process starts."""
    try:
        name = artifacts.read_metadata(settings.artifacts / version).name
    except artifacts.ArtifactError:
        raise NotPackaged(f"no version {version} of model {settings.model} in {settings.artifacts}: package it "
                          "with 'python -m models.package' (docs/your-model.md)") from None
    if name != settings.model:
        raise NotPackaged(f"{settings.artifacts / version} is a version of model {name}, not {settings.model}: "
                          f"set --model {name} (CANARY_MODEL) or another --artifacts")


def ensure(settings: StackSettings, emit: Callable[[str], None]) -> None:
    """Train the demo's versions when missing; then check the stable version is the model's, packaged."""
    if settings.model == repository.MODEL_NAME:
        for version in ("v1", "v2"):
            if not (settings.artifacts / version / "metadata.json").exists():
                emit(f"training model {version} into {settings.artifacts}")
                train.train(version, settings.artifacts)
    check(settings, settings.stable_version)
