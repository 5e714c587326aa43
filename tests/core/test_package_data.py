"""Every file the package reads at run time ships with it: an installed wheel is not the checkout.

``make run`` and the tests use an editable install, which reads files from the checkout whether or
not ``pyproject.toml`` lists them; the Docker image installs a wheel, which holds only what is
listed. A data file added beside the code without its package-data line broke every command of
the image once (``registry/sources.json``); this test names the file instead.
"""

from __future__ import annotations

import tomllib
from fnmatch import fnmatch
from pathlib import Path

import hdab

PACKAGE = Path(hdab.__file__).parent
PYPROJECT = PACKAGE.parent / "pyproject.toml"


def _patterns() -> list[str]:
    config = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    return list(config["tool"]["setuptools"]["package-data"]["hdab"])


def _listed(relative: str, patterns: list[str]) -> bool:
    for pattern in patterns:
        if pattern.endswith("/**/*"):  # setuptools: every file below the folder, at any depth
            if relative.startswith(pattern[: -len("**/*")]):
                return True
        elif fnmatch(relative, pattern) and relative.count("/") == pattern.count("/"):
            return True
    return False


def test_every_file_beside_the_code_is_listed_as_package_data() -> None:
    patterns = _patterns()
    files = [
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file() and path.suffix not in {".py", ".pyc"} and "__pycache__" not in path.parts
    ]
    assert files, "found no data files: is the package where the test thinks?"
    missing = sorted(f for f in files if not _listed(f, patterns))
    assert not missing, f"add these to [tool.setuptools.package-data] in pyproject.toml: {missing}"


def test_the_check_itself_notices_a_file_that_is_not_listed() -> None:
    patterns = _patterns()
    assert _listed("templates/core/index.html", patterns)
    assert _listed("static/search.js", patterns)
    assert not _listed("registry/other.json", patterns)
    assert not _listed("static/deeper/file.js", patterns)
