"""Build profiles: how much training a build spends on each experiment.

``default`` is the budget the book is built with on 2 CPU cores: every
chapter's own reduced sizes (a knob of ``None`` means "the plugin's own
value"). ``paper`` uses the paper's sizes and protocols wherever the paper
(or its official notebook) states them; :meth:`Profile.source` says where
each value comes from, so a chapter can say "trained at the paper's size" or
name the sizes it used instead:

=================  ==================  ===========================================
knob               paper               source
=================  ==================  ===========================================
steps              10,000              the official notebook's ``optimize`` (the
                                       paper text does not state it)
batch_size         1024                the official notebook
lr                 1e-3                the official notebook (Adam)
uniform_features   400                 the paper: uniform superposition, n = 400
uniform_hidden     30                  the paper: uniform superposition, m = 30
neuron_models      1000                the paper: 1000 models per point, lowest
                                       loss kept (privileged basis)
phase_models       10                  the paper: ten models per phase-diagram
                                       point, averaged
phase_discard      1                   the paper: discarding the highest loss
=================  ==================  ===========================================

Knobs the paper leaves open (how many restarts the basic-results and
geometry sweeps keep the best of, the evaluation batch) stay ``None`` in
``paper`` too: those plugins keep their own values and their chapters say so.

**How a plugin's experiment uses a profile.** Its ``experiment.Settings``
keeps its defaults (the ``default`` profile) and adds a ``for_profile``
class method that maps the profile's knobs onto its own fields with
:func:`build`; a field named ``profile``, if the dataclass has one, records
the profile's name (the settings are the cache key, so the two profiles'
results are cached apart; a plugin whose settings come out the same under
both profiles shares one cache entry, which is right: it trains the same)::

    from dataclasses import dataclass

    from course import profiles

    @dataclass(frozen=True)
    class Settings:
        n_seeds: int = 128
        steps: int = 3000
        batch_size: int = 128
        profile: str = "default"

        @classmethod
        def quick(cls) -> "Settings":
            return cls(n_seeds=4, steps=200)

        @classmethod
        def for_profile(cls, name: str) -> "Settings":
            # n_seeds <- the profile's neuron_models, and so on; knobs the
            # profile leaves as None keep the defaults above
            return profiles.build(cls, name, n_seeds="neuron_models", steps="steps",
                                  batch_size="batch_size")

The build asks for a profile's settings with :func:`settings`
(``profiles.settings(experiment.Settings, "paper")``): ``for_profile`` where
the plugin defines it, else the plugin's defaults. :func:`check` validates a
profile name before any plugin runs (for ``--profile`` on the command line).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

#: the knobs a profile sets (each ``None`` where the plugin keeps its own value)
KNOBS = (
    "steps", "batch_size", "lr", "uniform_features", "uniform_hidden",
    "neuron_models", "phase_models", "phase_discard", "sweep_seeds", "eval_batch",
)


@dataclass(frozen=True)
class Profile:
    """A build's training budget: knobs a plugin's ``Settings`` reads.

    ``None`` means "the plugin's own value" (the ``default`` budget)."""

    name: str
    description: str
    #: training steps of each model
    steps: int | None = None
    #: samples per step
    batch_size: int | None = None
    #: Adam's learning rate
    lr: float | None = None
    #: the uniform-superposition model's features n and hidden dimensions m
    uniform_features: int | None = None
    uniform_hidden: int | None = None
    #: models trained per density for the neuron model (the lowest loss is kept)
    neuron_models: int | None = None
    #: models trained per phase-diagram point, and how many of the highest loss are discarded
    phase_models: int | None = None
    phase_discard: int | None = None
    #: restarts per level of the other sweeps (the lowest loss is kept)
    sweep_seeds: int | None = None
    #: samples of the evaluation that picks the best restart
    eval_batch: int | None = None
    #: where each value set comes from: (knob, source) pairs
    sources: tuple[tuple[str, str], ...] = ()

    def knobs(self) -> dict[str, Any]:
        """The knobs this profile sets (those not ``None``)."""
        return {k: getattr(self, k) for k in KNOBS if getattr(self, k) is not None}

    def source(self, knob: str) -> str:
        """Where the value of ``knob`` comes from ("" when the profile leaves it to the plugin)."""
        if knob not in KNOBS:
            raise ValueError(f"unknown profile knob {knob!r}; the knobs are {', '.join(KNOBS)}")
        return dict(self.sources).get(knob, "")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


DEFAULT = Profile(
    name="default",
    description="the default build's budget on 2 CPU cores: each chapter's own reduced sizes",
)

PAPER = Profile(
    name="paper",
    description="the paper's sizes and protocols where it states them (10,000 steps, n = 400, "
                "m = 30 uniform superposition, 1000 neuron models and 10 phase-diagram models per point)",
    steps=10_000,
    batch_size=1024,
    lr=1e-3,
    uniform_features=400,
    uniform_hidden=30,
    neuron_models=1000,
    phase_models=10,
    phase_discard=1,
    sources=(
        ("steps", "the official notebook's optimize(steps=10_000); the paper text does not state it"),
        ("batch_size", "the official notebook's optimize(n_batch=1024)"),
        ("lr", "the official notebook's optimize(lr=1e-3)"),
        ("uniform_features", "the paper, Uniform Superposition: n = 400"),
        ("uniform_hidden", "the paper, Uniform Superposition: m = 30"),
        ("neuron_models", "the paper, Superposition in a Privileged Basis: 1000 models per point, lowest loss kept"),
        ("phase_models", "the paper, phase diagrams: ten models for each point, averaged"),
        ("phase_discard", "the paper, phase diagrams: discarding the model with the highest loss"),
    ),
)

PROFILES: dict[str, Profile] = {p.name: p for p in (DEFAULT, PAPER)}
#: the profile names, default first
NAMES = tuple(PROFILES)


def check(name: str) -> str:
    """The profile name, or a ValueError that lists the valid ones."""
    key = str(name).strip().lower()
    if key not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose {' or '.join(NAMES)}")
    return key


def get(name: str) -> Profile:
    """The :class:`Profile` called ``name`` (``default`` or ``paper``)."""
    return PROFILES[check(name)]


def pick(value: T | None, default: T) -> T:
    """``value`` unless the profile leaves it (``None``): then ``default``."""
    return default if value is None else value


def _values(cls: type, name: str, fields: dict[str, str]) -> dict[str, Any]:
    """The field values profile ``name`` gives ``cls``'s fields (see :func:`build`)."""
    if not isinstance(cls, type) or not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    profile = get(name)
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for field, knob in fields.items():
        if field not in names:
            raise ValueError(f"{cls.__name__} has no field {field!r}")
        if knob not in KNOBS:
            raise ValueError(f"unknown profile knob {knob!r}; the knobs are {', '.join(KNOBS)}")
        value = getattr(profile, knob)
        if value is not None:
            kwargs[field] = value
    if "profile" in names:
        kwargs["profile"] = profile.name
    return kwargs


def build(cls: type[T], name: str, **fields: str) -> T:
    """``cls`` (a Settings dataclass) for profile ``name``: each keyword maps
    one of ``cls``'s fields to a profile knob (``n_seeds="neuron_models"``);
    a knob the profile leaves ``None`` keeps the field's default. A field
    called ``profile``, if ``cls`` has one, is set to the profile's name."""
    return cls(**_values(cls, name, fields))


def update(value: T, name: str, **fields: str) -> T:
    """:func:`build` for a dataclass instance (a nested part of a plugin's
    Settings, such as one sweep's training): ``value`` with the fields
    mapped to the knobs profile ``name`` sets replaced, the others kept."""
    if not dataclasses.is_dataclass(value) or isinstance(value, type):
        raise TypeError(f"{value!r} is not a dataclass instance")
    return dataclasses.replace(value, **_values(type(value), name, fields))


def settings(cls: type[T], name: str) -> T:
    """A plugin's ``Settings`` for profile ``name``: ``cls.for_profile(name)``
    where the plugin defines it, else ``cls()`` (the plugin trains the same
    under every profile)."""
    key = check(name)
    make = getattr(cls, "for_profile", None)
    if callable(make):
        value: T = make(key)
        return value
    return cls()
