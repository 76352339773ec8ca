"""Per-field documentation read from a dataclass's ``Attributes:`` docstring section.

One source for ``help(Params)``, the CLI help of every flag and the docs: the text written
next to each field in the class docstring (Google style)::

    Attributes:
        name: what it is, its unit or range
            (continuation lines are indented further).
"""

from __future__ import annotations

import inspect
import re


def field_docs(cls) -> dict:
    """``{field name: one-line description}`` from ``cls.__doc__``'s ``Attributes:`` section."""
    doc = inspect.getdoc(cls) or ""
    lines = doc.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == "Attributes:")
    except StopIteration:
        return {}
    out, name, indent = {}, None, None
    for line in lines[start + 1:]:
        if not line.strip():
            continue
        depth = len(line) - len(line.lstrip())
        if indent is None:
            indent = depth
        if depth < indent:
            break
        m = re.match(r"\s*(\w+):\s*(.*)", line)
        if depth == indent and m:
            name = m.group(1)
            out[name] = m.group(2).strip()
        elif name is not None:
            out[name] += " " + line.strip()
    return out
