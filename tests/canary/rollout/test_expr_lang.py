"""Conditions match expr-lang: cases from expr-lang/expr's own expr_test.go (TestExpr) and its operator table."""

import math

import pytest

from canary.rollout import analysis, expr
from canary.rollout.spec import Metric


@pytest.mark.parametrize(
    "code, want",
    [  # expr_test.go, TestExpr: code and the value expr-lang returns
        ("1", 1), ("-.5", -0.5), ("true && false || false", False), ('"a" != "b"', True),
        ('"a" != "b" || 1 == 2', True), ("2 + 2 == 4", True), ("8 % 3", 2), ("2 ** 8", 256.0), ("2 ^ 8", 256.0),
        ("-(2-5)**3-2/(+4-3)+-2", 23.0), ('"hello" + " " + "world"', "hello world"),
        ("0 in -1..1 and 1 in 1..1", True), ("1 in [1.5] || 1 not in [1]", False), ("-1 not in [1]", True),
        ('"foobar" contains "bar"', True), ('"foobar" startsWith "foo"', True), ('"foobar" endsWith "bar"', True),
        ("'foo' + 'bar' not matches 'foobar'", False), ("(0..10)[5]", 5), ("[1, 2, 3]", [1, 2, 3]),
        ("(true ? 0+1 : 2+3) + (false ? -1 : -2)", -1), ("nil ?? 42", 42), ("1 ?? 42", 1),
    ],
)
def test_expr_lang_cases(code, want):
    got = expr.evaluate(code, None)
    assert got == want and type(got) is type(want)


@pytest.mark.parametrize(
    "code, want",
    [
        ("!true == false", True),  # unary ! (50) binds tighter than == (20): (!true) == false
        ("not (1 > 2)", True),
        ("!false && false", False),
        ("-2 ** 2", -4.0),  # ** (100) binds tighter than unary - (90)
        ("1e-3 < 0.01", True),
        ("2.5e2 == 250", True),
        ("1 < 2 < 3", True),  # a chain is a < b && b < c
        ("3 > 2 > 2", False),
        ("true ?: 5", True),
        ("false || true ? 'x' : 'y'", "x"),  # ?: binds loosest
        ("7 / 2", 3.5),  # / is float division
        ("1_000 + 1", 1001),
    ],
)
def test_precedence_and_literals_as_in_operator_go(code, want):
    assert expr.evaluate(code, None) == want


def test_division_by_zero_is_infinity_as_in_go():
    assert expr.evaluate("1 / 0", None) == math.inf
    assert expr.evaluate("-1 / 0", None) == -math.inf
    assert math.isnan(expr.evaluate("0 / 0", None))
    assert expr.evaluate("result[0] / result[1] > 100", [5.0, 0.0]) is True


@pytest.mark.parametrize(
    "code, result",
    [
        ("all(result, # > 0)", 0.5),  # a predicate over a scalar
        ("any(result, # > 0)", None),
        ("5 % 0", None),  # integer divide by zero
        ("1.5 % 1", None),  # % takes integers
        ("1 && true", None),  # and/or/not take booleans
        ("nil ?? 1 + 2", None),  # ?? does not mix
        ("result in 5", 1),
        ("#", None),  # # outside a predicate
        ("len(5)", None),
        ("not 1 > 2", None),  # (not 1) > 2: not binds tighter than >, and 1 is no boolean
    ],
)
def test_what_expr_lang_refuses_is_an_evaluation_error(code, result):
    with pytest.raises(expr.EvaluationError):
        expr.evaluate(code, result)


def test_a_condition_over_a_scalar_is_an_error_measurement_not_a_crash():
    metric = Metric(name="m", success_condition="all(result, {# >= 0.95})")
    assert analysis.judge(metric, 0.99)[0] == analysis.ERROR
    assert analysis.judge(metric, [0.99])[0] == analysis.SUCCESSFUL


def test_a_condition_that_is_not_a_boolean_is_an_error():
    metric = Metric(name="m", success_condition="result[0] * 2")
    phase, message = analysis.judge(metric, [0.5])
    assert phase == analysis.ERROR and "expected bool" in message
