"""Argo's success and failure conditions, evaluated with expr-lang's semantics and without eval().

Runtime rules follow expr-lang/expr's vm/runtime/runtime.go: ``/`` is float
division (``x/0`` is +Inf, as in Go), ``%`` takes integers only, ``==`` compares
numbers across int and float, ``and``/``or``/``not`` need booleans, ``in`` looks in a
list or a map's keys, ``??`` takes the right side when the left is nil. The
functions are expr-lang's builtins that conditions use plus Argo's own
(utils/evaluate/evaluate.go: ``asInt``, ``asFloat``, ``isNaN``, ``isInf``,
``isNil``, ``default``). Anything that cannot be evaluated is an EvaluationError,
which Argo records as an Error measurement, never a Failure.
"""

import math
import operator
import re
from collections.abc import Callable
from typing import Any, NoReturn, TypeGuard

from canary.rollout.expr_parse import EvaluationError, Node, Parser

__all__ = ["EvaluationError", "check", "evaluate"]


def _is_number(v: object) -> TypeGuard[int | float]:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _number(v: object) -> int | float:
    if not _is_number(v):
        raise EvaluationError(f"{v!r} is not a number")
    return v


def _bool(v: object) -> bool:
    if not isinstance(v, bool):
        raise EvaluationError(f"{v!r} is not a boolean")
    return v


def _equal(a: object, b: object) -> bool:
    if _is_number(a) and _is_number(b):
        return float(a) == float(b)
    return type(a) is type(b) and a == b


def _divide(a: object, b: object) -> float:
    a, b = float(_number(a)), float(_number(b))
    if b == 0:  # Go float division by zero: signed infinity, or NaN for 0/0
        return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a) * math.copysign(1, b)
    return a / b


def _modulo(a: object, b: object) -> int:
    if not (isinstance(a, int) and isinstance(b, int)) or isinstance(a, bool) or isinstance(b, bool):
        raise EvaluationError(f"invalid operation: {a!r} % {b!r} (% takes integers)")
    if b == 0:
        raise EvaluationError("integer divide by zero")
    return int(math.fmod(a, b))  # Go truncates toward zero


def _arith(op: str, a: object, b: object) -> Any:
    if op == "+" and isinstance(a, str) and isinstance(b, str):
        return a + b
    a, b = _number(a), _number(b)
    try:
        return {"+": operator.add, "-": operator.sub, "*": operator.mul}[op](a, b)
    except OverflowError:
        return math.inf


def _order(op: str, a: object, b: object) -> bool:
    if not ((_is_number(a) and _is_number(b)) or (isinstance(a, str) and isinstance(b, str))):
        raise EvaluationError(f"invalid operation: {a!r} {op} {b!r}")
    # NaN compares false both ways, as in Go: a NaN success ratio fails ">= 0.95".
    compare: Callable[[Any, Any], bool] = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}[op]
    return compare(a, b)  # two numbers or two strings: always a bool


def _contains(container: object, item: object) -> bool:
    if isinstance(container, list):
        return any(_equal(item, x) for x in container)
    if isinstance(container, dict):
        return item in container
    raise EvaluationError(f"operator in: {container!r} is not a list or a map")


def _strings(a: object, b: object, what: str) -> tuple[str, str]:
    if not (isinstance(a, str) and isinstance(b, str)):
        raise EvaluationError(f"operator {what} takes strings, not {a!r} and {b!r}")
    return a, b


def _power(a: object, b: object) -> float:
    try:
        return math.pow(float(_number(a)), float(_number(b)))
    except OverflowError:
        return math.inf
    except ValueError:
        return math.nan


def _range(a: object, b: object) -> list[int]:
    if not (isinstance(a, int) and isinstance(b, int)):
        raise EvaluationError(f"operator ..: {a!r} and {b!r} must be integers")
    return list(range(a, b + 1))


_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "/": _divide, "%": _modulo, "**": _power, "^": _power, "..": _range,
    "==": _equal, "!=": lambda a, b: not _equal(a, b),
    "in": lambda a, b: _contains(b, a),
    "contains": lambda a, b: operator.contains(*_strings(a, b, "contains")),
    "startsWith": lambda a, b: str.startswith(*_strings(a, b, "startsWith")),
    "endsWith": lambda a, b: str.endswith(*_strings(a, b, "endsWith")),
    "matches": lambda a, b: re.search(_strings(a, b, "matches")[1], a) is not None,
}


def _binary(node: Node, env: dict[str, Any]) -> Any:
    op = node[1]
    if op in ("&&", "and"):
        return _bool(_eval(node[2], env)) and _bool(_eval(node[3], env))
    if op in ("||", "or"):
        return _bool(_eval(node[2], env)) or _bool(_eval(node[3], env))
    left = _eval(node[2], env)
    if op == "??":
        return left if left is not None else _eval(node[3], env)
    right = _eval(node[3], env)
    if op in ("+", "-", "*"):
        return _arith(op, left, right)
    if op in ("<", "<=", ">", ">="):
        return _order(op, left, right)
    return _BINARY[op](left, right)


def _index(container: object, key: object) -> Any:
    if isinstance(container, dict):
        return container.get(key)
    if not isinstance(container, (list, str)) or not isinstance(key, int) or isinstance(key, bool):
        raise EvaluationError(f"cannot index {container!r} with {key!r}")
    if not -len(container) <= key < len(container):
        raise EvaluationError(f"index {key} out of range (result has {len(container)} values)")
    return container[key]


def _predicate(node: Node, env: dict[str, Any]) -> Any:
    _, name, subject, body = node
    items = _eval(subject, env)
    if not isinstance(items, list):
        raise EvaluationError(f"{name}(): cannot iterate over {items!r}; it needs a list such as result")
    values = [_eval(body, {**env, "#": item}) for item in items]
    if name == "map":
        return values
    if name in ("filter", "count") or name in ("all", "any", "none", "one"):
        flags = [_bool(v) for v in values]
        reducers: dict[str, Callable[[list[bool]], Any]] = {
            "all": all, "any": any, "none": lambda f: not any(f), "one": lambda f: sum(f) == 1,
            "count": sum, "filter": lambda f: [x for x, keep in zip(items, f) if keep]}
        return reducers[name](flags)
    raise EvaluationError(f"unknown predicate {name}()")


def _as_int(v: object) -> int:
    if isinstance(v, str):
        return int(v)
    return int(_number(v))


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": lambda v: len(v) if isinstance(v, (list, str, dict)) else _raise(f"len() of {v!r}"),
    "abs": lambda v: abs(_number(v)),
    "max": lambda *v: max(_number(x) for x in v),
    "min": lambda *v: min(_number(x) for x in v),
    "int": _as_int, "asInt": _as_int,
    "float": lambda v: float(v if isinstance(v, str) else _number(v)),
    "asFloat": lambda v: float(v if isinstance(v, str) else _number(v)),
    "string": str,
    "isNaN": lambda v: math.isnan(_number(v)),
    "isInf": lambda v: math.isinf(_number(v)),
    "isNil": lambda v: v is None,
    "default": lambda v, d: d if v is None else v,
}


def _raise(message: str) -> NoReturn:
    raise EvaluationError(message)


def _call(node: Node, env: dict[str, Any]) -> Any:
    _, name, args = node
    if name not in _FUNCTIONS:
        raise EvaluationError(f"unknown function {name}()")
    values = [_eval(a, env) for a in args]
    try:
        return _FUNCTIONS[name](*values)
    except (TypeError, ValueError) as exc:
        raise EvaluationError(f"{name}(): {exc}") from None


def _eval(node: Node, env: dict[str, Any]) -> Any:
    tag = node[0]
    if tag == "lit":
        return node[1]
    if tag == "var":
        if node[1] not in env:
            raise EvaluationError(f"unknown name {node[1]!r} in condition")
        return env[node[1]]
    if tag == "it":
        return env["#"]
    if tag == "not":
        return not _bool(_eval(node[1], env))
    if tag in ("-", "+"):
        value = _number(_eval(node[1], env))
        return -value if tag == "-" else value
    if tag == "bin":
        return _binary(node, env)
    if tag == "cond":
        return _eval(node[2] if _bool(_eval(node[1], env)) else node[3], env)
    if tag == "index":
        return _index(_eval(node[1], env), _eval(node[2], env))
    if tag == "list":
        return [_eval(n, env) for n in node[1]]
    return _predicate(node, env) if tag == "predicate" else _call(node, env)


def evaluate(condition: str, result: object) -> Any:
    """The value of ``condition`` with ``result`` bound; EvaluationError when it cannot say."""
    try:
        return _eval(Parser(condition).parse(), {"result": result})
    except RecursionError:
        raise EvaluationError("condition nested too deeply") from None


def check(condition: str) -> None:
    """Raise EvaluationError now if the condition does not even parse."""
    Parser(condition).parse()
