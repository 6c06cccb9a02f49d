"""Read a Prometheus text exposition the way Prometheus does, not by string prefix."""

from prometheus_client.parser import text_string_to_metric_families


def total(text: str, name: str, /, **labels: str) -> float:
    """The sum of every sample called ``name`` whose labels include ``labels``."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )
