"""Settings a user gives through the environment, read in one place.

HARVESTER_ARCHIVE and HARVESTER_CONFIG are click's (cli.py), HARVESTER_RELAY the HTTP
client's (http/relay.py); HARVESTER_RATE, HARVESTER_BACKOFF and HARVESTER_DEADLINE_SECONDS
are numbers read here, by `fetch` and `import` (cli.py) and by `harvest`, where they win
over the config; HARVESTER_PROGRESS_SECONDS sets how often `fetch`, `import` and `rebuild`
print progress off a terminal (cli.py); HARVESTER_BUSY_SECONDS how long every command's
write waits for another command's before it gives up with "try later" (archiver.py;
default 60).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from harvester.errors import InputError


def env_number(environ: Mapping[str, str], name: str) -> float | None:
    """A positive number from the environment (None when unset); InputError naming it."""
    value = environ.get(name, "")
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        raise InputError(f"{name}={value!r}: not a number") from None
    if not math.isfinite(number) or number <= 0:
        raise InputError(f"{name}={value!r}: must be a number greater than 0")
    return number
