"""Hypothesis settings profiles for property tests of XComs, registered and chosen by the plugin.

Profiles (registered when hypothesis is imported or a profile is asked for, so ``--hypothesis-profile`` can
name them too):

- ``pytest_xcom-dev``: 50 examples, no deadline. What ``auto`` picks on a workstation.
- ``pytest_xcom-ci``: 300 examples, no deadline, derandomized (the same examples every run) and the
  failing example's reproduction blob printed: hypothesis's own ``ci`` profile with more examples.
  What ``auto`` picks when hypothesis detects CI (``CI`` set, GitHub Actions, ...).
- ``pytest_xcom-thorough``: 3000 examples and 100 steps per state machine run, no deadline.

No deadline because the first round trip in a process pays for Airflow's imports and pydantic schemas.
Choose with the ini option ``xcom_hypothesis_profile`` or the environment variable
``PYTEST_XCOM_HYPOTHESIS_PROFILE`` (it wins over the ini file): a profile name, ``auto`` (dev locally,
ci on CI) or ``none`` (the default: installing the plugin must not change the settings of a project's
other property tests). A profile chosen another way wins over ``auto``:
``--hypothesis-profile`` always wins, and so does a profile a conftest.py loads. This module never imports
Airflow, and imports hypothesis only to register the profiles.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import pytest

__all__ = ["CI", "DEV", "ENV_VAR", "INI_OPTION", "THOROUGH", "add_options", "configure", "report_header"]

INI_OPTION = "xcom_hypothesis_profile"
ENV_VAR = "PYTEST_XCOM_HYPOTHESIS_PROFILE"
DEV = "pytest_xcom-dev"
CI = "pytest_xcom-ci"
THOROUGH = "pytest_xcom-thorough"
AUTO = "auto"
NONE = "none"

# The profiles hypothesis starts in: anything else was chosen by the user (conftest.py, a flag).
_HYPOTHESIS_STARTING_PROFILES = {"default": DEV, "ci": CI}

_LOADED = pytest.StashKey[str]()
_WHY = pytest.StashKey[str]()

HELP = (
    f"hypothesis settings profile for property tests: {DEV} (50 examples), {CI} (300, derandomized), "
    f"{THOROUGH} (3000), any registered profile, '{AUTO}' ({DEV} locally, {CI} on CI) or '{NONE}' (the "
    f"default: leave hypothesis alone). ${ENV_VAR} overrides it; --hypothesis-profile wins over both."
)


def add_options(parser: pytest.Parser) -> None:
    """Declare the ini option (called from the plugin's pytest_addoption)."""
    parser.addini(INI_OPTION, help=HELP, default=NONE)


def register_profiles() -> bool:
    """Register the pytest_xcom profiles with hypothesis; False when hypothesis is not installed."""
    try:
        from hypothesis import settings
    except ImportError:  # pragma: no cover - hypothesis is a dependency, but stay out of the way
        return False
    settings.register_profile(DEV, parent=settings.get_profile("default"), max_examples=50, deadline=None)
    settings.register_profile(CI, parent=settings.get_profile("ci"), max_examples=300, deadline=None)
    settings.register_profile(
        THOROUGH,
        parent=settings.get_profile("default"),
        max_examples=3000,
        stateful_step_count=100,
        deadline=None,
    )
    return True


def _choice(config: pytest.Config) -> tuple[str, str]:
    from_env = os.environ.get(ENV_VAR, "").strip()
    if from_env:
        return from_env, f"${ENV_VAR}"
    from_ini = str(config.getini(INI_OPTION) or "").strip()
    return (from_ini or NONE), f"{INI_OPTION} in {config.inipath.name}" if config.inipath else INI_OPTION


def configure(config: pytest.Config) -> None:
    """Register the profiles and load the chosen one (called from a tryfirst pytest_configure).

    Runs before hypothesis's own pytest_configure, so ``--hypothesis-profile=pytest_xcom-ci`` finds the
    profile registered; when that flag is given, it decides and this loads nothing.
    """
    choice, source = _choice(config)
    flag = config.getoption("hypothesis_profile", default=None)
    if choice.lower() == NONE and not flag and "hypothesis" not in sys.modules:
        return  # nothing asks for the profiles: do not pay for importing hypothesis
    if not register_profiles():
        return
    from hypothesis import settings
    from hypothesis.errors import InvalidArgument

    if flag or choice.lower() == NONE:
        return
    if choice.lower() == AUTO:
        current = settings.get_current_profile_name()
        if current not in _HYPOTHESIS_STARTING_PROFILES:
            return  # a conftest.py loaded a profile of its own
        choice = _HYPOTHESIS_STARTING_PROFILES[current]
        source = "auto: CI detected" if choice == CI else "auto"
    try:
        settings.load_profile(choice)
    except InvalidArgument:
        raise pytest.UsageError(
            f"{source} names hypothesis profile {choice!r}, which is not registered. pytest_xcom's are "
            f"{DEV!r}, {CI!r} and {THOROUGH!r}; use '{NONE}' to leave hypothesis's settings alone."
        ) from None
    config.stash[_LOADED] = choice
    config.stash[_WHY] = source


def report_header(config: pytest.Config) -> str | None:
    """The line for pytest's header naming the profile this plugin loaded, if it loaded one."""
    loaded: Any = config.stash.get(_LOADED, None)
    if loaded is None:
        return None
    return f"pytest_xcom: hypothesis profile {loaded!r} ({config.stash.get(_WHY, '')})"
