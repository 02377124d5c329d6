"""Material functions of one variable as BPX gives them: a constant, an expression or a table.

:class:`MaterialFunction` keeps the BPX representation itself (so that export gives back exactly
what was imported) and evaluates on numbers, numpy arrays and UFL expressions alike:

* ``constant``: the value;
* ``expression``: a BPX expression string in ``x`` (numbers, ``+ - * / **``, ``exp``, ``tanh``,
  ``cosh``, ``sqrt``, ``log``), checked by the ``bpx`` package's grammar before it is compiled;
* ``table``: ``x`` strictly increasing, **piecewise-linear interpolation; outside the table the end
  values are held** (``numpy.interp``'s rule; PyBaMM's linear interpolant extrapolates linearly, so
  the two differ only outside the table: femsim reports a stoichiometry window that leaves it).
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import math
import operator
from collections.abc import Callable
from typing import Any

from femsim.parameters.base import _NP, math_for

#: the functions a BPX expression may call
EXPRESSION_FUNCTIONS = ("exp", "tanh", "cosh", "sqrt", "log")


class FunctionError(ValueError):
    """A malformed function (the message names what is wrong; the caller adds the field)."""


def _namespace(x: Any) -> dict[str, Any]:
    m = math_for(x)
    functions = {name: getattr(m, name) for name in EXPRESSION_FUNCTIONS if name != "log"}
    functions["log"] = m.log if m is _NP else m.ln
    return {"x": x, **functions}


_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.Pow: operator.pow}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {ast.USub: operator.neg, ast.UAdd: operator.pos}


@functools.lru_cache(maxsize=256)
def _compiled(expression: str) -> ast.expr:
    """The expression's syntax tree, refused unless it is arithmetic on ``x``, numbers and the
    functions of EXPRESSION_FUNCTIONS (nothing is ever passed to Python's ``eval``)."""
    try:
        tree = ast.parse(expression.replace("^", "**"), mode="eval").body
    except SyntaxError as exc:
        raise FunctionError(f"expression {expression!r} is not arithmetic ({exc.msg})") from None
    for node in ast.walk(tree):
        allowed = (isinstance(node, ast.BinOp | ast.UnaryOp | ast.operator | ast.unaryop | ast.Load)
                   or (isinstance(node, ast.Constant) and isinstance(node.value, int | float)
                       and not isinstance(node.value, bool))
                   or (isinstance(node, ast.Name) and (node.id == "x" or node.id in EXPRESSION_FUNCTIONS))
                   or (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                       and node.func.id in EXPRESSION_FUNCTIONS and len(node.args) == 1 and not node.keywords))
        if isinstance(node, ast.BinOp) and type(node.op) not in _BINARY:
            allowed = False
        if isinstance(node, ast.UnaryOp) and type(node.op) not in _UNARY:
            allowed = False
        if not allowed and isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            raise FunctionError(f"expression {expression!r}: function '{node.func.id}' is not allowed "
                                f"(allowed: {', '.join(EXPRESSION_FUNCTIONS)})")
        if not allowed:
            raise FunctionError(f"expression {expression!r}: {type(node).__name__} is not allowed "
                                f"(allowed: + - * / ** on x, numbers and {', '.join(EXPRESSION_FUNCTIONS)})")
    return tree


def _evaluate(node: ast.expr, names: dict[str, Any]) -> Any:
    """Evaluate a tree accepted by :func:`_compiled` with ``names`` for ``x`` and the functions."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return names[node.id]
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](_evaluate(node.left, names), _evaluate(node.right, names))
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_evaluate(node.operand, names))
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    return names[node.func.id](_evaluate(node.args[0], names))


@dataclasses.dataclass(frozen=True)
class MaterialFunction:
    """f(x) as a constant, a BPX expression string or a table (see the module docstring)."""

    kind: str  # "constant" | "expression" | "table"
    constant: float = 0.0
    expression: str = ""
    table_x: tuple[float, ...] = ()
    table_y: tuple[float, ...] = ()

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_bpx(cls, value: Any) -> MaterialFunction:
        """From a BPX value: a number, an expression string (or ``bpx.Function``), or ``{"x": [...], "y": [...]}``
        (or ``bpx.InterpolatedTable``). Raises :class:`FunctionError`."""
        if hasattr(value, "x") and hasattr(value, "y") and not isinstance(value, dict):
            value = {"x": list(value.x), "y": list(value.y)}
        if isinstance(value, bool):
            raise FunctionError(f"must be a number, an expression or a table, got {value!r}")
        if isinstance(value, int | float):
            if not math.isfinite(value):
                raise FunctionError(f"must be finite, got {value!r}")
            return cls("constant", constant=float(value))
        if isinstance(value, str):
            return cls.expression_of(str(value))
        if isinstance(value, dict):
            return cls.table_of(value.get("x"), value.get("y"))
        raise FunctionError(f"must be a number, an expression or a table, got {type(value).__name__}")

    @classmethod
    def expression_of(cls, text: str) -> MaterialFunction:
        from bpx import Function

        try:
            Function.validate(text)  # the bpx package's expression grammar
        except ValueError as exc:
            raise FunctionError(f"invalid expression {text!r}: {str(exc).removeprefix('Invalid Function: ')}") from None
        out = cls("expression", expression=text)
        try:
            value = out(0.5)
        except NameError as exc:
            raise FunctionError(f"expression {text!r}: {exc} (allowed: {', '.join(EXPRESSION_FUNCTIONS)})") from None
        except (ArithmeticError, ValueError, TypeError):
            return out  # e.g. log(x - 1) at 0.5: only the evaluation range can tell
        if not isinstance(value, int | float):
            raise FunctionError(f"expression {text!r} does not give a number")
        return out

    @classmethod
    def table_of(cls, x: Any, y: Any) -> MaterialFunction:
        if not isinstance(x, list | tuple) or not isinstance(y, list | tuple):
            raise FunctionError("a table needs lists 'x' and 'y'")
        if len(x) != len(y) or len(x) < 2:
            raise FunctionError(f"table 'x' and 'y' must have the same length >= 2, got {len(x)} and {len(y)}")
        for name, values in (("x", x), ("y", y)):
            for i, v in enumerate(values):
                if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                    raise FunctionError(f"table {name}[{i}] must be a finite number, got {v!r}")
        for i in range(1, len(x)):
            if not x[i] > x[i - 1]:
                raise FunctionError(f"table x must be strictly increasing, x[{i}] = {x[i]:g} after "
                                    f"x[{i - 1}] = {x[i - 1]:g}")
        return cls("table", table_x=tuple(float(v) for v in x), table_y=tuple(float(v) for v in y))

    # -- evaluation ---------------------------------------------------------------------------
    def __call__(self, x: Any) -> Any:
        if self.kind == "constant":
            return self.constant + 0 * x
        if self.kind == "expression":
            return _evaluate(_compiled(self.expression), _namespace(x))
        return self._interpolate(x)

    def _interpolate(self, x: Any) -> Any:
        """Piecewise linear, end values held: y0 + Σ slope_i · clip(x − x_i, 0, x_{i+1} − x_i)."""
        m = math_for(x)
        xs, ys = self.table_x, self.table_y
        out = ys[0] + 0 * x
        for i in range(len(xs) - 1):
            width = xs[i + 1] - xs[i]
            slope = (ys[i + 1] - ys[i]) / width
            if slope != 0.0:
                out = out + slope * m.min(m.max(x - xs[i], 0.0), width)
        return out

    @property
    def is_constant(self) -> bool:
        return self.kind == "constant"

    @property
    def table_range(self) -> tuple[float, float] | None:
        return (self.table_x[0], self.table_x[-1]) if self.kind == "table" else None

    def to_bpx(self) -> Any:
        """The BPX value: a number, an expression string or ``{"x": [...], "y": [...]}``."""
        if self.kind == "constant":
            return self.constant
        if self.kind == "expression":
            return self.expression
        return {"x": list(self.table_x), "y": list(self.table_y)}

    def describe(self) -> str:
        if self.kind == "constant":
            return f"{self.constant:.6g}"
        if self.kind == "expression":
            return self.expression
        return f"table of {len(self.table_x)} points on [{self.table_x[0]:g}, {self.table_x[-1]:g}]"
