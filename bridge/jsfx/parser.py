"""EEL2 syntax tree, following the grammar of REAPER's compiler (WDL ``eel2.y``).

Precedence, lowest first: ``;`` sequences; ``? :`` (right-associative, either
branch optional); ``&&`` and ``||`` (one level); comparisons (``== === != !==
< > <= >=``, one level); ``& | ~`` (one level); ``+``; ``-``; ``*``; ``/``;
``% << >>``; ``^`` (left-associative); unary ``+ - !``; assignment (``= += -=
*= /= %= ^= |= &= ~=``: its right side is a whole ``? :`` expression, so
``-a = b + 1`` is ``-(a = (b + 1))``); memory access ``x[i]`` and calls. As in
REAPER, ``a * b / c`` is ``a * (b / c)`` and ``a + b - c`` is ``a + (b - c)``:
the results differ in the last bit from C's order, and REAPER's order is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bridge.jsfx.errors import JsfxError, where
from bridge.jsfx.lexer import Code, Token, tokenize

ASSIGN_OPS = {"=", "+=", "-=", "*=", "/=", "%=", "^=", "|=", "&=", "~="}
# binary levels from lowest to highest precedence
LEVELS = [{"&&", "||"}, {"==", "===", "!=", "!==", "<", ">", "<=", ">="}, {"&", "|", "~"}, {"+"}, {"-"}, {"*"},
          {"/"}, {"%", "<<", ">>"}, {"^"}]
DECLARATIONS = {"local", "static", "instance", "globals", "global"}


@dataclass
class Node:
    """A syntax tree node.

    ``kind`` is one of ``num`` (value), ``str`` (bytes of a literal), ``named`` (a ``#string``'s name,
    empty for a temporary one), ``var`` (name), ``index`` (base, index or
    None), ``call`` (name, args, extra block or None), ``assign`` (op, target,
    value), ``neg``/``not``/``pos`` (operand), ``bin`` (op, left, right), ``cond``
    (test, then or None, else or None), ``seq`` (items).
    """

    kind: str
    args: tuple
    line: int
    col: int


@dataclass
class Function:
    """A user function: parameters, declared variables and its body."""

    name: str
    params: list[str]
    locals: set[str] = field(default_factory=set)
    instances: set[str] = field(default_factory=set)
    globals: set[str] | None = None
    namespaces: set[str] = field(default_factory=set)  # parameters declared name*: called with a variable name
    shadows: Function | None = None  # the definition of the same name this one replaced (what its body calls)
    body: Node | None = None
    line: int = 0


@dataclass
class Program:
    """One section's code: the functions it defines and its top-level expression."""

    functions: list[Function]
    body: Node


class Parser:
    """Recursive descent over the tokens of one piece of code."""

    def __init__(self, code: Code) -> None:
        self.code = code
        self.tokens: list[Token] = tokenize(code)
        self.pos = 0

    # -- helpers ---------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.pos]

    def error(self, message: str, tok: Token | None = None) -> JsfxError:
        t = tok or self.tok
        return JsfxError(f"{where(self.code.file, t.line, t.col)}: {message}")

    def is_op(self, *ops: str) -> bool:
        return self.tok.kind == "op" and self.tok.value in ops

    def take(self, op: str) -> Token:
        if not self.is_op(op):
            found = "the end of the code" if self.tok.kind == "end" else repr(self.tok.value)
            raise self.error(f"expected {op!r}, found {found}")
        tok = self.tok
        self.pos += 1
        return tok

    # -- program ---------------------------------------------------------
    def program(self) -> Program:
        functions: list[Function] = []
        items: list[Node] = []
        start = self.tok
        while self.tok.kind != "end":
            if self.is_op(";"):
                self.pos += 1
                continue
            if self.tok.kind == "name" and self.tok.value == "function" and self.tokens[self.pos + 1].kind == "name":
                functions.append(self.function())
                continue
            items.append(self.if_else())
            if self.tok.kind != "end":
                self.take(";")
        return Program(functions, Node("seq", (items,), start.line, start.col))

    def function(self) -> Function:
        start = self.tok
        self.pos += 1
        name = str(self.tok.value)
        self.pos += 1
        starred: set[str] = set()
        fn = Function(name, self.name_list(starred), line=start.line)
        fn.namespaces = starred
        while self.tok.kind == "name" and self.tok.value in DECLARATIONS:
            kind = self.tok.value
            self.pos += 1
            names = self.name_list(set())
            if kind in ("local", "static"):
                fn.locals.update(names)
            elif kind == "instance":
                fn.instances.update(names)
            else:
                fn.globals = (fn.globals or set()) | set(names)
        self.take("(")
        fn.body = self.expression(")")
        self.take(")")
        if self.is_op(";"):
            self.pos += 1
        return fn

    def name_list(self, starred: set[str]) -> list[str]:
        """A parenthesised list of names; ``name*`` (or ``name.*``) ones are also added to ``starred``."""
        self.take("(")
        names = []
        while not self.is_op(")"):
            if self.is_op(","):  # EEL2 skips empty entries (a, , b) and a trailing comma
                self.pos += 1
                continue
            if self.tok.kind != "name":
                raise self.error("expected a name in the list")
            name = str(self.tok.value).rstrip(".")
            names.append(name)
            self.pos += 1
            if self.is_op("*"):
                starred.add(name)
                self.pos += 1
            if self.is_op(","):
                self.pos += 1
        self.take(")")
        return names

    # -- expressions -----------------------------------------------------
    def expression(self, closer: str) -> Node:
        """Statements separated by ``;`` up to (not including) ``closer`` or ``,``."""
        start = self.tok
        items = []
        while not self.is_op(closer, ","):
            if self.tok.kind == "end":
                raise self.error(f"expected {closer!r} before the end of the code", start)
            if self.is_op(";"):
                self.pos += 1
                continue
            if self.tok.kind == "name" and self.tok.value == "function":
                raise self.error("functions can only be defined at the top level of a section")
            items.append(self.if_else())
            if not self.is_op(closer, ","):
                self.take(";")
        if len(items) == 1:
            return items[0]
        return Node("seq", (items,), start.line, start.col)

    def if_else(self) -> Node:
        test = self.binary(0)
        if not self.is_op("?"):
            return test
        q = self.take("?")
        then = None if self.is_op(":") else self.if_else()
        other = None
        if self.is_op(":"):
            self.pos += 1
            other = self.if_else()
        return Node("cond", (test, then, other), q.line, q.col)

    def binary(self, level: int) -> Node:
        if level == len(LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while self.tok.kind == "op" and self.tok.value in LEVELS[level]:
            op = self.tok
            self.pos += 1
            right = self.binary(level + 1)
            left = Node("bin", (op.value, left, right), op.line, op.col)
        return left

    def unary(self) -> Node:
        if self.is_op("-", "+", "!"):
            op = self.tok
            self.pos += 1
            operand = self.unary()
            if op.value == "-" and operand.kind == "num":
                return Node("num", (-operand.args[0],), op.line, op.col)
            kind = {"-": "neg", "+": "pos", "!": "not"}[str(op.value)]
            return Node(kind, (operand,), op.line, op.col)
        target = self.postfix()
        if self.tok.kind == "op" and self.tok.value in ASSIGN_OPS:
            op = self.tok
            if target.kind == "num":
                raise self.error("cannot assign to a number", op)
            self.pos += 1
            return Node("assign", (op.value, target, self.if_else()), op.line, op.col)
        return target

    def postfix(self) -> Node:
        node = self.primary()
        while self.is_op("["):
            br = self.take("[")
            index = None if self.is_op("]") else self.expression("]")
            if self.is_op(","):
                raise self.error("unexpected ',' inside [ ]")
            self.take("]")
            node = Node("index", (node, index), br.line, br.col)
        return node

    def primary(self) -> Node:
        tok = self.tok
        if tok.kind == "num":
            self.pos += 1
            return Node("num", (tok.value,), tok.line, tok.col)
        if tok.kind == "str":
            self.pos += 1
            return Node("str", (tok.value,), tok.line, tok.col)
        if tok.kind == "named":
            self.pos += 1
            return Node("named", (tok.value,), tok.line, tok.col)
        if tok.kind == "name":
            self.pos += 1
            if not self.is_op("("):
                return Node("var", (tok.value,), tok.line, tok.col)
            self.take("(")
            args = []
            while not self.is_op(")"):
                args.append(self.expression(")"))
                if self.is_op(","):
                    self.pos += 1
                    if self.is_op(")"):
                        raise self.error("a parameter is missing after ','")
            self.take(")")
            extra = None
            if tok.value == "while" and self.is_op("("):
                self.take("(")
                extra = self.expression(")")
                self.take(")")
            return Node("call", (tok.value, args, extra), tok.line, tok.col)
        if self.is_op("("):
            self.take("(")
            inner = self.expression(")")
            if self.is_op(","):
                raise self.error("unexpected ',' inside ( )")
            self.take(")")
            return inner if inner.kind != "seq" or inner.args[0] else Node("num", (0.0,), tok.line, tok.col)
        if tok.kind == "end":
            raise self.error("the code ends where a value is expected")
        raise self.error(f"unexpected {tok.value!r} where a value is expected")


def parse(code: Code) -> Program:
    """Parse one section (or imported file section) of EEL2.

    Raises
    ------
    JsfxError
        A syntax error, naming file, line and column.
    """
    return Parser(code).program()
