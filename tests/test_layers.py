"""The package's layers import downward only (README, "Layout").

    dmft.app                       may import anything below
    dmft.analysis                  dmft.core
    dmft.solver, dmft.simulations  dmft.core
    dmft.core                      nothing of the package but itself

Every ``import`` statement of every module counts, also those inside functions.  Nothing imports
the folders ``simulations`` or ``analysis`` as top-level packages (they are installed as
``dmft.simulations`` and ``dmft.analysis``), and no library module selects a matplotlib backend.
"""

import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: folder -> installed package name
FOLDERS = {"dmft": "dmft", "simulations": "dmft.simulations", "analysis": "dmft.analysis"}
#: layer of a module -> layers it may import
ALLOWED = {
    "dmft.core": {"dmft.core"},
    "dmft.solver": {"dmft.core", "dmft.solver"},
    "dmft.simulations": {"dmft.core", "dmft.simulations"},
    "dmft.analysis": {"dmft.core", "dmft.analysis"},
    "dmft.app": {"dmft.core", "dmft.solver", "dmft.simulations", "dmft.analysis", "dmft.app"},
}


def modules():
    """(module name, path, is_package) of every module of the package."""
    out = []
    for folder, package in FOLDERS.items():
        for dirpath, _, files in os.walk(os.path.join(ROOT, folder)):
            for name in files:
                if not name.endswith(".py"):
                    continue
                rel = os.path.relpath(os.path.join(dirpath, name), os.path.join(ROOT, folder))
                parts = rel[:-3].split(os.sep)
                is_pkg = parts[-1] == "__init__"
                if is_pkg:
                    parts = parts[:-1]
                out.append((".".join([package] + parts), os.path.join(dirpath, name), is_pkg))
    return out


def imports(module: str, path: str, is_pkg: bool):
    """Absolute names of everything ``path`` imports."""
    tree = ast.parse(open(path).read())
    package = module if is_pkg else module.rpartition(".")[0]
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module
            names.append(prefix)
            names += [f"{prefix}.{alias.name}" for alias in node.names]
    return names


def layer(name: str):
    for lay in sorted(ALLOWED, key=len, reverse=True):
        if name == lay or name.startswith(lay + "."):
            return lay
    return None


MODULES = modules()


def test_the_package_has_every_layer():
    found = {layer(m) for m, _, _ in MODULES}
    assert set(ALLOWED) <= found


@pytest.mark.parametrize("module,path,is_pkg", MODULES, ids=[m for m, _, _ in MODULES])
def test_imports_go_downward(module, path, is_pkg):
    own = layer(module)
    if own is None:  # the front door dmft/__init__.py and dmft/__main__.py
        return
    for name in imports(module, path, is_pkg):
        assert name.split(".")[0] not in ("simulations", "analysis"), f"{module} imports top-level {name}"
        target = layer(name)
        if target is not None:
            assert target in ALLOWED[own], f"{module} ({own}) imports {name} ({target})"


@pytest.mark.parametrize("module,path,is_pkg", MODULES, ids=[m for m, _, _ in MODULES])
def test_no_backend_selection_in_library_modules(module, path, is_pkg):
    source = open(path).read()
    assert "matplotlib.use(" not in source, module
