"""Test-wide settings: hypothesis profiles (CI is derandomized and keeps no example database)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

from nerv_inner_universe import log

log.configure(os.environ.get("NERV_TEST_LOG_LEVEL", "info"))

settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, database=None)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))
