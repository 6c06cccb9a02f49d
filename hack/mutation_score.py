"""``python hack/mutation_score.py``: the score of the last ``make mutation`` (mutmut's CI/CD stats), one line."""

import json
import sys
from pathlib import Path


def main(path: str = "mutants/mutmut-cicd-stats.json") -> int:
    """Print killed of checked, what survived, what no test reached and what the time limit left unchecked."""
    stats = json.loads(Path(path).read_text())
    killed = stats["killed"] + stats["timeout"]
    checked = killed + stats["survived"] + stats["no_tests"]
    print(f"mutation score: {killed} of {checked} checked mutants killed ({killed / max(checked, 1):.0%}); "
          f"{stats['survived']} survived, {stats['no_tests']} reached by no test, {stats['total'] - checked} not "
          "checked within MUTATION_TIMEOUT; the survivors: .venv/bin/mutmut results")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
