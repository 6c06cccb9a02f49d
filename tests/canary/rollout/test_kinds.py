"""Step kinds in one registry: a kind added to ``KINDS`` is parsed, listed, run and hashed with nothing else changed;
a reconcile pass takes at most one round of measurements."""

import dataclasses
from typing import Any, ClassVar

from canary.rollout import kinds, saved, spec
from canary.rollout.kinds import Outcome, Parsing, Progress, Step
from canary.rollout.providers import PrometheusQuery
from canary.rollout.status import HEALTHY
from tests.canary.rollout.test_controller import rig, run_until  # noqa: F401 - the fixture
from tests.canary.rollout.test_expr_spec import rollout


@dataclasses.dataclass(frozen=True)
class Note(Step):
    """A kind of this test's own: it writes a line and goes on."""

    key: ClassVar[str] = "note"
    text: str

    @classmethod
    def parse(cls, body: Any, ctx: Parsing) -> "Note":
        return cls(str(body))

    def label(self) -> str:
        return f"note {self.text}"

    def execute(self, ctrl, now, n, pending) -> Outcome:
        ctrl.event(f"{n}: {self.text}")
        ctrl.advance({"kind": self.key})
        return Progress.DONE


def test_a_kind_registered_in_kinds_is_parsed_listed_and_run(rig, monkeypatch):  # noqa: F811
    monkeypatch.setitem(kinds.KINDS, Note.key, Note)
    parsed = spec.parse_rollout(rollout([{"note": "hello"}, {"setWeight": 100}]), {})
    assert parsed.steps == [Note("hello"), spec.SetWeight(100)]
    make, clock, router, provider, lines, _ = rig
    ctrl = make()
    ctrl.spec = dataclasses.replace(ctrl.spec, steps=parsed.steps)
    assert [s.label() for s in ctrl.spec.steps] == ["note hello", "set weight 100"]
    ctrl.start("v2")
    run_until(ctrl, clock, lambda: ctrl.state.phase == HEALTHY and ctrl.state.target is None)
    assert any(line.endswith("step 1/2: hello") for line in lines) and ctrl.state.stable == "v2"
    assert saved.steps_hash(parsed) != saved.steps_hash(spec.parse_rollout(rollout([{"setWeight": 100}]), {}))


class Counting:
    """The rig's provider, counting the queries asked."""

    def __init__(self, provider):
        self.provider, self.asked = provider, 0

    def query(self, address, query):
        self.asked += 1
        return self.provider.query(address, query)


def test_a_pass_measures_one_round_and_the_next_analysis_waits_for_the_next_pass(rig):  # noqa: F811
    make, clock, router, provider, *_ = rig
    ctrl = make()
    once = spec.Metric("m", source=PrometheusQuery("http://prom", 'x{revision="v2-rev"}'), count=1,
                       success_condition="result[0] >= 0")
    ctrl.spec = dataclasses.replace(ctrl.spec, steps=[spec.Analysis(("once",)), spec.Analysis(("once",))],
                                    templates={**ctrl.spec.templates, "once": spec.Template("once", (), (once,))})
    counting = Counting(provider)
    ctrl.measurer.clients = dataclasses.replace(ctrl.measurer.clients, prometheus=counting)
    ctrl.start("v2")
    ctrl.reconcile()  # the first analysis: measured and concluded; the second starts, due at once, not measured
    assert ctrl.state.step == 1 and ctrl.run is not None and counting.asked == 1
    ctrl.reconcile()
    assert ctrl.state.step == 2 and counting.asked == 2
