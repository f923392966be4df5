"""A simulated fleet (collectors.simulate's archetypes) pushed through the ingest API by the test client."""

from __future__ import annotations

import json
import random
import time

from collectors.simulate import ARCHETYPES, inventory, sample
from tests.batches import post


def push_fleet(client, token: str, days: float = 2.0, step_s: float = 300.0, end: float | None = None,
               archetypes=ARCHETYPES) -> int:  # fmt: skip
    rng = random.Random(7)
    end = time.time() if end is None else end
    n = int(days * 86400 // step_s)
    for h, arch in enumerate(archetypes):
        inv, energy = inventory(h, arch), {}
        for first in range(0, n, 1000):
            samples = [
                sample(end - (n - i) * step_s, inv, arch, rng, energy) for i in range(first, min(n, first + 1000))
            ]
            response = post(client, token, json.loads(json.dumps({**inv, "samples": samples})))
            assert response.status_code == 202, response.content
    return n
