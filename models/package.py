"""``python -m models.package``: a person's classifier as a version the runtimes serve and the stack rolls out.

    python -m models.package --name cancer --skops v1.skops --skops v2.skops --holdout holdout.csv --label-column y
    python -m models.package --name cancer --version v3 --class mymodels:Candidate --train train.csv \\
        --holdout holdout.csv --label-column y
"""

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models import artifacts, packaging, tables

EXIT_OK, EXIT_REFUSED = 0, 2


def build_parser() -> argparse.ArgumentParser:
    """The command's flags."""
    p = argparse.ArgumentParser(prog="python -m models.package", description=(
        "Package a fitted scikit-learn classifier as a model version: a checked skops artifact plus metadata "
        "(name, version, features, classes, sha256, offline metrics)."))
    p.add_argument("--name", required=True, help="the model's name: its URL /v2/models/NAME/infer and its metrics")
    p.add_argument("--version", help="the version, e.g. v2 (default: each --skops file's name, v1.skops: v1)")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--skops", type=Path, action="append", help="a fitted estimator saved with skops.io.dump "
                        "(repeatable: one version each)")
    source.add_argument("--class", dest="class_spec", metavar="MODULE:CLASS",
                        help="a class with build(seed) returning an unfitted estimator; fitted on --train")
    p.add_argument("--trust", action="append", default=[], metavar="TYPE",
                   help="a type in the skops file to trust beyond skops' defaults (repeatable); never implied")
    p.add_argument("--train", type=Path, help="labelled rows to fit --class on (CSV, Parquet or JSON lines)")
    p.add_argument("--holdout", type=Path, help="labelled rows for the offline metrics (accuracy, macro F1, log loss)")
    p.add_argument("--label-column", default="label", help="the true class's column in --train/--holdout "
                   "(default %(default)s)")
    p.add_argument("--features", help="feature names in the model's column order, comma-separated "
                   "(default: the estimator's feature_names_in_, else the data file's columns but the label)")
    p.add_argument("--description", default="", help="one line a person reads on the dashboard and in metadata")
    p.add_argument("--seed", type=int, default=42, help="seed for build(seed) (default %(default)s)")
    p.add_argument("--out", type=Path, default=Path(os.environ.get("MODELS_OUT", "artifacts")),
                   help="artifact root; the version goes to OUT/VERSION (env MODELS_OUT, default %(default)s)")
    return p


def _columns(path: Path | None, label: str) -> list[str] | None:
    return None if path is None else [str(c) for c in tables.read(path).columns if c != label]


def versions(args: argparse.Namespace) -> list[tuple[str, Path | None]]:
    """(version, skops file or None for --class) of each version to package, every name checked first."""
    if args.class_spec:
        if not args.version:
            raise packaging.PackageError("--class needs --version (the version it builds)")
        chosen: list[tuple[str, Path | None]] = [(args.version, None)]
    elif args.version and len(args.skops) > 1:
        raise packaging.PackageError("--version names one version: give one --skops file, or name each file "
                                     "after its version (v1.skops, v2.skops)")
    else:
        chosen = [(args.version or path.stem, path) for path in args.skops]
    for version, skops in chosen:  # all of them before any is written
        packaging.check_names(args.name, version)
        if skops:
            packaging.trusted_for(skops, args.trust)
    return chosen


@dataclass(frozen=True)
class Prepared:
    """One version checked, fitted when asked and scored: all that is left is to write it."""

    version: str
    estimator: Any
    features: list[str]
    description: str
    metrics: dict[str, float]


def prepare(args: argparse.Namespace, version: str, skops: Path | None) -> Prepared:
    """Check, fit when asked and score one version, writing nothing."""
    given = [n.strip() for n in args.features.split(",")] if args.features else None
    if skops:
        estimator = packaging.load_skops(skops, args.trust)
        description = args.description
    else:
        if args.train is None:
            raise packaging.PackageError("--class needs --train FILE (labelled rows to fit it on)")
        estimator, description = packaging.build_from_class(args.class_spec, args.seed)
        features = given or _columns(args.train, args.label_column) or []
        train = packaging.labelled(args.train, features, args.label_column)
        packaging.check_classifier_type(estimator)
        estimator.fit(train.X, train.y)
        description = args.description or description
    packaging.check_classifier(estimator)
    features = packaging.feature_names(estimator, given or (None if hasattr(estimator, "feature_names_in_")
                                                            else _columns(args.holdout, args.label_column)))
    metrics = {} if args.holdout is None else packaging.scores(
        estimator, packaging.labelled(args.holdout, features, args.label_column))
    packaging.needed_trust(estimator, args.trust)  # a fitted --class's types too, before anything is written
    _check_free(args.out / version, args.name)
    return Prepared(version, estimator, features, description, metrics)


def _check_free(folder: Path, name: str) -> None:
    """Refuse to overwrite a version another model was packaged as (the demo's artifacts/v1, say)."""
    if (folder / artifacts.METADATA_FILE).exists():
        held = artifacts.read_metadata(folder).name
        if held != name:
            raise packaging.PackageError(f"{folder} holds a version of model {held}: give another --out")


def main(argv: list[str] | None = None) -> int:
    """Package each version asked for; exit 2 with one line at the first that is refused."""
    args = build_parser().parse_args(argv)
    try:
        ready = [prepare(args, version, skops) for version, skops in versions(args)]  # every one, before any write
    except (packaging.PackageError, tables.TableError, artifacts.ArtifactError) as exc:
        print(f"models.package: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    for one in ready:
        meta = packaging.write(one.estimator, args.name, one.version, args.out, features=one.features,
                               description=one.description, metrics=one.metrics, trust=args.trust, seed=args.seed)
        scores = ", ".join(f"{k}={v}" for k, v in one.metrics.items())
        print(f"{args.name} {one.version}: {len(meta.classes)} classes, {scores or 'no --holdout, no scores'}, "
              f"sha256={meta.sha256[:12]} -> {args.out / one.version}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
