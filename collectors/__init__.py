"""The host agent: samples this machine and pushes to the ingest API.

Never imports Django. Installable alone (pip install 'rightsizer[agent]').
"""

from __future__ import annotations

__version__ = "0.1.0"
