"""The files a package needs besides code: licence, citation, changelog, type marker, version."""

import importlib.metadata
import importlib.resources
import os
import tomllib

import pytest

import dmft

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read(name: str) -> str:
    with open(os.path.join(ROOT, name), encoding="utf-8") as fh:
        return fh.read()


def pyproject() -> dict:
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as fh:
        return tomllib.load(fh)


def test_license_is_the_mit_licence_pyproject_names():
    text = read("LICENSE")
    assert text.startswith("MIT License") and "Copyright (c) 2026 the sgd-dmft authors" in text
    assert pyproject()["project"]["license"] == {"text": "MIT"}


def test_citation_cites_the_package_and_the_papers():
    yaml = pytest.importorskip("yaml")
    cff = yaml.safe_load(read("CITATION.cff"))
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "software"
    assert cff["version"] == pyproject()["project"]["version"] and cff["license"] == "MIT"
    ids = {ref["identifiers"][0]["value"] for ref in cff["references"]}
    assert ids == {"arXiv:2006.06098", "arXiv:2112.10852", "arXiv:1710.04894"}
    assert all(ref["title"] and ref["authors"] and ref["year"] for ref in cff["references"])


def test_changelog_has_the_current_version():
    text = read("CHANGELOG.md")
    assert f"## [{pyproject()['project']['version']}]" in text and "## [Unreleased]" in text


def test_typed_marker_is_package_data():
    assert (importlib.resources.files("dmft") / "py.typed").is_file()
    assert "py.typed" in pyproject()["tool"]["setuptools"]["package-data"]["dmft"]


def test_version_comes_from_the_installed_metadata():
    assert dmft.__version__ == importlib.metadata.version("sgd-dmft") == pyproject()["project"]["version"]


def test_idle_openmp_threads_sleep_unless_the_user_says_otherwise():
    """Spinning OpenMP threads made numba's parallel kernels several times slower on shared cores
    (issue 24): importing dmft asks for passive waiting, unless OMP_WAIT_POLICY is already set."""
    import subprocess
    import sys

    code = "import os, dmft; print(os.environ['OMP_WAIT_POLICY'])"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "PASSIVE"
    out = subprocess.run([sys.executable, "-c", code], env={**env, "OMP_WAIT_POLICY": "ACTIVE"},
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ACTIVE"
