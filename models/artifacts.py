"""Versioned model artifacts: skops files (no code runs on load) plus metadata with a sha256.

Layout: ``<root>/<version>/model.skops`` and ``<root>/<version>/metadata.json``.
"""

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import skops.io as sio

MODEL_FILE = "model.skops"
METADATA_FILE = "metadata.json"
# skops refuses any type outside its defaults plus this list. Our two estimators
# need nothing beyond the defaults; the list is explicit so that a new estimator
# type has to be added here on purpose rather than trusted by accident.
TRUSTED_TYPES: list[str] = []


class ArtifactError(Exception):
    """An artifact is missing, tampered with or unreadable."""


@dataclass
class Metadata:
    """What a server and a person need to know about one trained version."""

    version: str
    description: str
    classes: list[str]
    feature_names: list[str]
    metrics: dict[str, float]
    sha256: str
    seed: int
    sklearn_version: str
    name: str = "wine"  # artifacts trained before models could be named were all the wine demo's
    """The model's name: in its URL (/v2/models/<name>/infer), its metrics and, on a cluster, every object's name."""
    trusted_types: list[str] = field(default_factory=list)
    """Types beyond skops' defaults the person who packaged this version chose to trust (models.package --trust)."""


def sha256_of(path: Path) -> str:
    """The file's sha256, the artifact's identity in metadata and metrics."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save(estimator: object, metadata: Metadata, root: Path) -> Path:
    """Write the estimator and its metadata under ``root/<version>``; return that folder."""
    folder = Path(root) / metadata.version
    folder.mkdir(parents=True, exist_ok=True)
    model_path = folder / MODEL_FILE
    sio.dump(estimator, model_path)
    metadata.sha256 = sha256_of(model_path)
    (folder / METADATA_FILE).write_text(json.dumps(asdict(metadata), indent=2) + "\n")
    return folder


def read_metadata(folder: Path) -> Metadata:
    """metadata.json of one version, validated."""
    path = Path(folder) / METADATA_FILE
    try:
        doc = json.loads(path.read_text())
        doc.pop("extra", None)  # an always-empty field that artifacts trained by 0.1.0 still carry
        return Metadata(**doc)
    except FileNotFoundError:
        raise ArtifactError(
            f"no {METADATA_FILE} in {folder}; train the demo's with 'python -m models.train', or package yours "
            "with 'python -m models.package'"
        ) from None
    except (ValueError, TypeError) as exc:
        raise ArtifactError(f"{path} is not valid artifact metadata: {exc}") from None


def load(folder: Path) -> tuple[Any, Metadata]:  # Any: whatever estimator the (trusted) file holds
    """Load ``(estimator, metadata)`` after checking the file's sha256 against the metadata."""
    folder = Path(folder)
    metadata = read_metadata(folder)
    model_path = folder / MODEL_FILE
    if not model_path.is_file():
        raise ArtifactError(f"{model_path} is missing; retrain with 'python -m models.train' (the demo's) or "
                            "package it again with 'python -m models.package'")
    actual = sha256_of(model_path)
    if actual != metadata.sha256:
        raise ArtifactError(
            f"{model_path} has sha256 {actual[:12]}… but {METADATA_FILE} expects "
            f"{metadata.sha256[:12]}…: the file was changed or truncated; refusing to load it"
        )
    try:
        estimator = sio.load(model_path, trusted=TRUSTED_TYPES + metadata.trusted_types)
    except Exception as exc:  # noqa: BLE001 - skops raises several types for untrusted or corrupt files
        raise ArtifactError(f"{model_path} could not be loaded safely: {exc}") from None
    return estimator, metadata
