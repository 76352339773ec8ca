"""The API reference page ``docs/api.md``, generated from the docstrings.

    python -m dmft.app.apidoc            # rewrite docs/api.md
    python -m dmft.app.apidoc --check    # exit 1 when docs/api.md is out of date

The page lists the public names of :mod:`dmft` and :mod:`dmft.analysis` (their ``__all__``) and
a few further entry points, each with its signature and docstring (``inspect``), classes with
their public methods and properties.  ``tests/test_docs.py`` checks that the committed page is
what this module writes, so a changed docstring or signature shows up in review.
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import importlib
import inspect
import os
import sys

#: sections of the page: (title, module, names); names None means the module's ``__all__``
SECTIONS = (
    ("Problem, methods, results and files (`dmft`)", "dmft",
     ("Params", "DMFTMethod", "ParticleMethod", "run", "solve", "simulate", "Result", "Errors", "Status",
      "load", "save", "fit_teff", "open_scan", "load_scan", "ParameterError")),
    ("Measurements (`dmft.measure`)", "dmft", ("measure", "Measurement", "MeasureSettings")),
    ("Analysis (`dmft.analysis`)", "dmft.analysis", None),
    ("Scans and files", None, ("dmft.app.scan.load_config", "dmft.app.scan.run_scan",
                               "dmft.app.runner.run_tasks", "dmft.core.io.FileFormatError")),
)
#: the page, relative to the repository root
PAGE = os.path.join("docs", "api.md")


def _object(module: str | None, name: str):
    if module is None:
        module, name = name.rsplit(".", 1)
    return getattr(importlib.import_module(module), name), f"{module}.{name}"


class _Annotation(str):
    """A string annotation shown without quotes."""

    def __repr__(self) -> str:
        return str(self)


def _plain(annotation):
    return _Annotation(annotation) if isinstance(annotation, str) else annotation


def _signature(obj) -> str:
    """``(a: int = 1, ...) -> str`` with the annotations unquoted."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return ""
    params = [p.replace(annotation=_plain(p.annotation)) for p in sig.parameters.values()]
    return str(sig.replace(parameters=params, return_annotation=_plain(sig.return_annotation)))


def _doc(obj) -> list:
    """The docstring as a fenced block (it is written for ``help()``, in plain text)."""
    return ["```text", inspect.getdoc(obj) or "(no docstring)", "```"]


def _members(cls) -> list:
    """Public methods and properties defined by ``cls`` or a package base class, in order."""
    out = []
    own_fields = {f.name for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else set()
    for name, value in vars(cls).items():
        if name.startswith("_") or name in own_fields:
            continue
        if isinstance(value, property):
            out.append((name, "property", inspect.getdoc(value)))
        elif isinstance(value, (staticmethod, classmethod)) or inspect.isfunction(value):
            func = value.__func__ if isinstance(value, (staticmethod, classmethod)) else value
            out.append((name, _signature(func).replace("(self, ", "(").replace("(self)", "()")
                        .replace("(cls, ", "(").replace("(cls)", "()"), inspect.getdoc(func)))
    for base in cls.__mro__[1:]:
        if base.__module__.startswith("dmft.") and base.__name__.startswith("_"):
            out += [m for m in _members(base) if m[0] not in {n for n, *_ in out}]
    return out


def _entry(obj, qualname: str) -> list:
    short = qualname.rsplit(".", 1)[1]
    lines = []
    if inspect.isclass(obj) and issubclass(obj, enum.Enum):
        values = ", ".join(f"`{m.value}`" for m in obj)
        return [f"### `{short}`", "", f"enum `{qualname}`: {values}", "", *_doc(obj), ""]
    if inspect.isclass(obj):
        kind = "exception" if issubclass(obj, BaseException) else "class"
        lines += [f"### `{short}`", "", f"{kind} `{qualname}{_signature(obj) if kind == 'class' else ''}`",
                  "", *_doc(obj), ""]
        for name, sig, doc in _members(obj):
            head = f"`{short}.{name}`" + (" (property)" if sig == "property" else f" `{sig}`")
            lines += [f"- {head}" + (f": {' '.join((doc or '').split())}" if doc else "")]
        if lines[-1].startswith("- "):
            lines.append("")
    else:
        lines += [f"### `{short}`", "", f"`{qualname}{_signature(obj)}`", "", *_doc(obj), ""]
    return lines


def render() -> str:
    """The whole page as markdown."""
    lines = ["# API reference", "",
             "Generated from the docstrings by `python -m dmft.app.apidoc` (do not edit by hand; "
             "`tests/test_docs.py` checks it is up to date). Conventions: "
             "[`conventions.md`](conventions.md); a worked example: [`example.ipynb`](example.ipynb).", ""]
    for title, module, names in SECTIONS:
        lines += [f"## {title}", ""]
        if module is not None:
            mod = importlib.import_module(module)
            lines += [inspect.getdoc(mod).split("\n\n")[0], ""]
            names = names or [n for n in mod.__all__ if not n.startswith("__")]
        for name in names:
            lines += _entry(*_object(module, name))
    return "\n".join(lines).rstrip() + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dmft.app.apidoc", description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default=PAGE, help=f"the page to write. Default: {PAGE}")
    parser.add_argument("--check", action="store_true", help="only compare with the page; exit 1 when it differs")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        try:
            with open(args.output, encoding="utf-8") as fh:
                same = fh.read() == text
        except FileNotFoundError:
            same = False
        sys.stdout.write(f"{args.output} is {'up to date' if same else 'out of date: run python -m dmft.app.apidoc'}\n")
        return 0 if same else 1
    with open(args.output, "w", encoding="utf-8") as fh:
        fh.write(text)
    sys.stdout.write(f"wrote {args.output}\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
