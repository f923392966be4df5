"""The host agent: samples this machine and pushes to the ingest API.

Never imports Django. Installable alone (pip install 'rightsizer[agent]').
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:  # pyproject.toml's version is the only one; a checkout that is not installed has none
    __version__ = version("rightsizer")
except PackageNotFoundError:
    __version__ = "0+unknown"
