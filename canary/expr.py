"""Argo's success/failure conditions (expr-lang) over ``result``, evaluated without eval().

The subset AnalysisTemplates use: && || ! and or not, comparisons, + - * / %,
indexing, numbers, strings, true/false/nil, and the helpers isNaN, isInf, len,
asInt, asFloat, isNil, default, all and any (with ``#`` for the element).
An index out of range or a type mismatch is an EvaluationError: Argo makes that
measurement an Error, not a Failure.
"""

import math
import re

_TOKEN = re.compile(r"\s*(?:(\d+\.\d*|\.\d+|\d+)|(\"[^\"]*\"|'[^']*')|(&&|\|\||==|!=|<=|>=|[-+*/%<>!()\[\],#{}])|([A-Za-z_]\w*))")


class EvaluationError(Exception):
    """The condition cannot be evaluated over this result."""


def _tokens(text: str) -> list[tuple[str, object]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise EvaluationError(f"cannot read condition {text!r} at {text[pos:pos + 10]!r}")
        number, string, op, name = m.groups()
        if number is not None:
            out.append(("num", float(number)))
        elif string is not None:
            out.append(("str", string[1:-1]))
        elif op is not None:
            out.append(("op", op))
        else:
            out.append(("name", name))
        pos = m.end()
    return out


class _Parser:
    _CMP = ("==", "!=", "<", "<=", ">", ">=")

    def __init__(self, text: str):
        self.toks, self.i = _tokens(text), 0

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None)

    def take(self, value=None):
        tok = self.peek()
        if tok[0] is None or (value is not None and tok[1] != value):
            raise EvaluationError(f"expected {value or 'more'} in condition, found {tok[1]!r}")
        self.i += 1
        return tok

    def parse(self):
        node = self.or_()
        if self.peek()[0] is not None:
            raise EvaluationError(f"unexpected {self.peek()[1]!r} in condition")
        return node

    def or_(self):
        node = self.and_()
        while self.peek()[1] in ("||", "or"):
            self.take()
            node = ("or", node, self.and_())
        return node

    def and_(self):
        node = self.not_()
        while self.peek()[1] in ("&&", "and"):
            self.take()
            node = ("and", node, self.not_())
        return node

    def not_(self):
        if self.peek()[1] in ("!", "not"):
            self.take()
            return ("not", self.not_())
        return self.cmp()

    def cmp(self):
        node = self.add()
        if self.peek()[1] in self._CMP:
            op = self.take()[1]
            node = ("cmp", op, node, self.add())
        return node

    def add(self):
        node = self.mul()
        while self.peek()[1] in ("+", "-"):
            node = ("bin", self.take()[1], node, self.mul())
        return node

    def mul(self):
        node = self.unary()
        while self.peek()[1] in ("*", "/", "%"):
            node = ("bin", self.take()[1], node, self.unary())
        return node

    def unary(self):
        if self.peek()[1] == "-":
            self.take()
            return ("neg", self.unary())
        node = self.primary()
        while self.peek()[1] == "[":
            self.take()
            node = ("index", node, self.or_())
            self.take("]")
        return node

    def primary(self):
        kind, value = self.take()
        if kind in ("num", "str"):
            return ("lit", value)
        if value in ("(", "{"):
            node = self.or_()
            self.take(")" if value == "(" else "}")
            return node
        if value == "#":
            return ("it",)
        if kind == "name":
            if value in ("true", "false", "nil"):
                return ("lit", {"true": True, "false": False, "nil": None}[value])
            if self.peek()[1] == "(":
                self.take()
                args = []
                while self.peek()[1] != ")":
                    args.append(self.or_())
                    if self.peek()[1] == ",":
                        self.take()
                self.take(")")
                return ("call", value, args)
            return ("var", value)
        raise EvaluationError(f"unexpected {value!r} in condition")


def _number(v):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise EvaluationError(f"{v!r} is not a number")
    return v


def _eval(node, env):
    tag = node[0]
    if tag == "lit":
        return node[1]
    if tag == "var":
        if node[1] not in env:
            raise EvaluationError(f"unknown name {node[1]!r} in condition")
        return env[node[1]]
    if tag == "it":
        return env["#"]
    if tag == "or":
        return bool(_eval(node[1], env)) or bool(_eval(node[2], env))
    if tag == "and":
        return bool(_eval(node[1], env)) and bool(_eval(node[2], env))
    if tag == "not":
        return not _eval(node[1], env)
    if tag == "neg":
        return -_number(_eval(node[1], env))
    if tag == "index":
        seq, key = _eval(node[1], env), _eval(node[2], env)
        if not isinstance(seq, list):
            raise EvaluationError(f"cannot index {seq!r}")
        try:
            return seq[int(_number(key))]
        except IndexError:
            raise EvaluationError(f"index {int(key)} out of range (result has {len(seq)} values)") from None
    if tag == "cmp":
        return _compare(node[1], _eval(node[2], env), _eval(node[3], env))
    if tag == "bin":
        a, b = _number(_eval(node[2], env)), _number(_eval(node[3], env))
        try:
            return {"+": a + b, "-": a - b, "*": a * b}[node[1]] if node[1] in "+-*" else (a / b if node[1] == "/" else a % b)
        except ZeroDivisionError:
            return math.nan
    if tag == "call":
        return _call(node[1], node[2], env)
    raise EvaluationError(f"cannot evaluate {tag}")


def _compare(op, a, b):
    if op in ("==", "!="):
        return (a == b) if op == "==" else (a != b)
    a, b = _number(a), _number(b)
    # NaN compares false both ways, as in Go: a NaN success ratio fails ">= 0.95".
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def _call(name, args, env):
    if name in ("all", "any"):
        items = _eval(args[0], env)
        checks = (bool(_eval(args[1], {**env, "#": item})) for item in items)
        return all(checks) if name == "all" else any(checks)
    values = [_eval(a, env) for a in args]
    funcs = {
        "len": lambda v: len(v) if isinstance(v, (list, str)) else _fail(f"len of {v!r}"),
        "isNaN": lambda v: math.isnan(_number(v)),
        "isInf": lambda v: math.isinf(_number(v)),
        "asInt": lambda v: int(float(v)),
        "asFloat": lambda v: float(v),
        "isNil": lambda v: v is None,
        "default": lambda v, d: d if v is None else v,
    }
    if name not in funcs:
        raise EvaluationError(f"unknown function {name}()")
    try:
        return funcs[name](*values)
    except (TypeError, ValueError) as exc:
        raise EvaluationError(f"{name}(): {exc}") from None


def _fail(message):
    raise EvaluationError(message)


def evaluate(condition: str, result) -> bool:
    """True or False for ``condition`` with ``result`` bound; EvaluationError when it cannot say."""
    return bool(_eval(_Parser(condition).parse(), {"result": result}))


def check(condition: str) -> None:
    """Raise EvaluationError now if the condition does not even parse."""
    _Parser(condition).parse()
