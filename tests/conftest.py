"""Shared test settings."""

import os

from hypothesis import settings

# Property tests draw the same examples on every run, like the fixed seeds of the other
# tests; HYPOTHESIS_PROFILE=explore draws fresh ones.
settings.register_profile("fixed", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fixed"))
