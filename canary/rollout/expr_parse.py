"""expr-lang's grammar for Argo's success and failure conditions: tokens and a parse tree of tuples.

The operator table and the precedence climbing follow expr-lang/expr
(parser/operator/operator.go, ``Unary`` and ``Binary``; parser/parser.go,
``parseExpression``, ``parsePrimary``, ``parseComparison``, ``parseConditional``):
unary ``!``/``not`` bind at 50, above ``==`` (20), so ``!a == b`` is ``(!a) == b``;
``a < b < c`` is ``a < b && b < c``; ``?:`` binds loosest; ``??`` cannot mix with
other operators unparenthesised. Hand-written: no Python package implements expr-lang.
"""

import re
from dataclasses import dataclass
from typing import Any, TypeAlias, cast

UNARY = {"not": 50, "!": 50, "-": 90, "+": 90}
BINARY = {"or": 10, "||": 10, "and": 15, "&&": 15, "==": 20, "!=": 20, "<": 20, ">": 20, ">=": 20, "<=": 20,
          "in": 20, "matches": 20, "contains": 20, "startsWith": 20, "endsWith": 20, "..": 25, "+": 30, "-": 30,
          "*": 60, "/": 60, "%": 60, "**": 100, "^": 100, "??": 500}
RIGHT_ASSOCIATIVE = {"**", "^"}
NEGATABLE = {"in", "matches", "contains", "startsWith", "endsWith"}  # operator.go, AllowedNegateSuffix
PREDICATES = {"all", "any", "none", "one", "filter", "map", "count"}
_WORD_OPERATORS = {"not", "and", "or", "in", "matches", "contains", "startsWith", "endsWith"}
_TOKEN = re.compile(r"""\s*(?:
    (?P<num>0[xX][0-9a-fA-F_]+|(?:\d[\d_]*(?:\.\d[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?)
  | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<op>\?\?|\.\.|\*\*|&&|\|\||==|!=|<=|>=|[-+*/%^<>!?:,.\#()\[\]{}])
  | (?P<name>[A-Za-z_$][\w$]*))""", re.X)
# A parse-tree node: a tag such as "bin" or "lit", then its operands (names, literal values, child nodes).
Node: TypeAlias = tuple[Any, ...]


class EvaluationError(Exception):
    """The condition cannot be parsed, or cannot be evaluated over this result."""


@dataclass(frozen=True)
class Token:
    """One lexeme: kind is num, str, op or name (whose values are always str), or eof."""

    kind: str
    value: str | int | float | None

    @property
    def text(self) -> str:
        """The value of an op or name token: tokens() always makes those a str."""
        return cast(str, self.value)


def tokens(text: str) -> list[Token]:
    """Lex ``text``; word operators (``and``, ``in``, ...) come out as op tokens."""
    out, pos, text = [], 0, text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos or m.lastgroup is None:  # a match always sets lastgroup
            raise EvaluationError(f"cannot read condition {text!r} at {text[pos:pos + 10]!r}")
        kind = m.lastgroup
        value = m.group(kind)
        if kind == "num":
            clean = value.replace("_", "")
            value = int(clean, 0) if clean.lower().startswith("0x") or not re.search(r"[.eE]", clean) else float(clean)
        elif kind == "str":
            value = value[1:-1]
            value = value.encode().decode("unicode_escape") if "\\" in value else value
        elif kind == "name" and value in _WORD_OPERATORS:
            kind = "op"
        out.append(Token(kind, value))
        pos = m.end()
    return out + [Token("eof", None)]


class Parser:
    """Precedence climbing over the tokens, as expr-lang's parser.go does it."""

    def __init__(self, text: str) -> None:
        self.toks, self.i, self.depth = tokens(text), 0, 0

    @property
    def cur(self) -> Token:
        """The current token."""
        return self.toks[self.i]

    def next(self) -> Token:
        """Consume and return the current token."""
        tok = self.cur
        if tok.kind == "eof":
            raise EvaluationError("unexpected end of condition")
        self.i += 1
        return tok

    def expect(self, value: str) -> None:
        """Consume ``value`` or fail naming what was found."""
        if self.cur.kind != "op" or self.cur.value != value:
            raise EvaluationError(f"expected {value!r} in condition, found {self.cur.value!r}")
        self.i += 1

    def is_op(self, *values: str) -> bool:
        """Is the current token one of these operators?"""
        return self.cur.kind == "op" and self.cur.value in values

    def parse(self) -> Node:
        """The whole condition; trailing tokens are an error."""
        node = self.expression(0)
        if self.cur.kind != "eof":
            raise EvaluationError(f"unexpected {self.cur.value!r} in condition")
        return node

    def expression(self, precedence: int) -> Node:
        """parser.go ``parseExpression``: operators binding at least ``precedence``."""
        left, previous = self.primary(), ""
        while self.cur.kind == "op":
            start, negate = self.i, self.cur.value == "not"
            if negate:
                self.i += 1
                if not self.is_op(*NEGATABLE):
                    raise EvaluationError(f"unexpected {self.cur.value!r} after 'not'")
            op = self.cur.value
            if op not in BINARY or BINARY[op] < precedence:
                self.i = start
                break
            self.i += 1
            if previous == "??" and op != "??":
                raise EvaluationError(f"operator {op} and ?? cannot be mixed; wrap either in parentheses")
            if BINARY[op] == 20 and op not in NEGATABLE:
                left = self.comparison(left, op)
            else:
                right = self.expression(BINARY[op] + (0 if op in RIGHT_ASSOCIATIVE else 1))
                left = ("bin", op, left, right)
            left = ("not", left) if negate else left
            previous = op
        return self.conditional(left) if precedence == 0 else left

    def comparison(self, left: Node, op: str) -> Node:
        """parser.go ``parseComparison``: ``a < b < c`` is ``a < b && b < c``."""
        root: Node | None = None
        while True:
            right = self.expression(21)
            node = ("bin", op, left, right)
            root = node if root is None else ("bin", "&&", root, node)
            left = right
            if not (self.cur.kind == "op" and BINARY.get(self.cur.text) == 20 and self.cur.value not in NEGATABLE):
                return root
            op = self.next().text

    def conditional(self, node: Node) -> Node:
        """``c ? a : b`` and the short ``c ?: b``."""
        while self.is_op("?"):
            self.next()
            if self.is_op(":"):
                self.next()
                node = ("cond", node, node, self.expression(0))
            else:
                yes = self.expression(0)
                self.expect(":")
                node = ("cond", node, yes, self.expression(0))
        return node

    def primary(self) -> Node:
        """Unary operators, parentheses, ``#`` in predicates, then literals and names."""
        tok = self.cur
        if tok.kind == "op" and tok.value in UNARY:
            self.next()
            return self.postfix((tok.value if tok.value != "!" else "not", self.expression(UNARY[tok.value])))
        if self.is_op("("):
            self.next()
            node = self.expression(0)
            self.expect(")")
            return self.postfix(node)
        if self.is_op("#"):
            if not self.depth:
                raise EvaluationError("# is only allowed inside a predicate such as all(result, {# > 0})")
            self.next()
            return self.postfix(("it",))
        return self.postfix(self.secondary())

    def secondary(self) -> Node:
        """Literals, names, calls and array literals (parser.go, parseSecondary)."""
        tok = self.next()
        if tok.kind in ("num", "str"):
            return ("lit", tok.value)
        if tok.kind == "name":
            if tok.value in ("true", "false", "nil"):
                return ("lit", {"true": True, "false": False, "nil": None}[tok.value])
            return self.call(tok.text) if self.is_op("(") else ("var", tok.value)
        if tok.kind == "op" and tok.value == "[":
            return ("list", self.items("]"))
        raise EvaluationError(f"unexpected {tok.value!r} in condition")

    def items(self, close: str) -> list[Node]:
        """A comma-separated list up to ``close``; a trailing comma is allowed."""
        out: list[Node] = []
        while not self.is_op(close):
            if out:
                self.expect(",")
                if self.is_op(close):
                    break
            out.append(self.expression(0))
        self.expect(close)
        return out

    def call(self, name: str) -> Node:
        """A builtin or Argo function; predicates take ``{ ... }`` or a bare expression over ``#``."""
        self.expect("(")
        if name not in PREDICATES:
            return ("call", name, self.items(")"))
        subject = self.expression(0)
        self.expect(",")
        braced = self.is_op("{")
        if braced:
            self.next()
        self.depth += 1
        predicate = self.expression(0)
        self.depth -= 1
        if braced:
            self.expect("}")
        self.expect(")")
        return ("predicate", name, subject, predicate)

    def postfix(self, node: Node) -> Node:
        """``x[i]`` and ``x.name``."""
        while self.is_op("[", "."):
            if self.next().value == "[":
                node = ("index", node, self.expression(0))
                self.expect("]")
            else:
                node = ("index", node, ("lit", self.next().value))
        return node
