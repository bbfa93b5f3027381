"""Build profiles: the paper's settings as data a plugin's Settings reads."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass

import pytest

from course import profiles


@dataclass(frozen=True)
class Neuron:
    n_seeds: int = 128
    steps: int = 3000
    batch_size: int = 128
    profile: str = "default"

    @classmethod
    def for_profile(cls, name: str) -> Neuron:
        return profiles.build(cls, name, n_seeds="neuron_models", steps="steps", batch_size="batch_size")


@dataclass(frozen=True)
class Plain:
    steps: int = 100


def test_the_paper_profile_holds_the_papers_settings():
    p = profiles.get("paper")
    assert (p.uniform_features, p.uniform_hidden) == (400, 30)
    assert p.neuron_models == 1000 and p.phase_models == 10 and p.phase_discard == 1
    assert p.steps is not None and p.steps >= 10_000
    # every value it sets says where it comes from
    assert all(p.source(k) for k in p.knobs())
    assert "notebook" in p.source("steps")


def test_the_default_profile_leaves_every_knob_to_the_plugin():
    assert profiles.get("default").knobs() == {}
    assert profiles.NAMES[0] == "default"


def test_profiles_are_frozen_and_names_checked():
    with pytest.raises(FrozenInstanceError):
        profiles.get("paper").steps = 1  # type: ignore[misc]
    assert profiles.check(" Paper ") == "paper"
    with pytest.raises(ValueError, match="default or paper"):
        profiles.get("huge")
    with pytest.raises(ValueError, match="unknown profile knob"):
        profiles.get("paper").source("width")


def test_settings_are_built_per_profile_and_differ():
    default, paper = profiles.settings(Neuron, "default"), profiles.settings(Neuron, "paper")
    assert default == Neuron()
    assert paper == Neuron(n_seeds=1000, steps=10_000, batch_size=1024, profile="paper")
    # a plugin without for_profile trains the same under every profile
    assert profiles.settings(Plain, "paper") == Plain()


def test_build_rejects_unknown_fields_and_knobs():
    with pytest.raises(ValueError, match="no field"):
        profiles.build(Neuron, "paper", width="steps")
    with pytest.raises(ValueError, match="knob"):
        profiles.build(Neuron, "paper", steps="epochs")
    with pytest.raises(TypeError):
        profiles.build(int, "paper")
    assert profiles.pick(None, 5) == 5 and profiles.pick(0, 5) == 0


# --------------------------------------------------------------- the built-in plugins


def _course():
    from course import plugins

    course = plugins.load()
    assert not course.errors, course.errors
    return course


#: plugins that train, and what the paper profile must give each (checked on the settings, never trained)
TRAINING = ("features-as-directions", "superposition", "sparsity", "interference", "non-uniform-superposition",
            "polysemanticity", "why-it-matters", "distributed-representations", "geometry")


#: plugins whose default settings already are the paper's
AT_PAPER_SIZE = ("superposition",)


def _walk(value, path=""):
    """(dotted key, value) for every leaf of a nested settings dict."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, f"{path}.{k}" if path else k)
    else:
        yield path, value


def test_the_paper_profile_resolves_for_every_plugin():
    """Every concept's settings under both profiles pass the contract, and every
    plugin that trains gets other settings (so another cache entry) under
    ``paper``: at least 10,000 steps wherever it counts steps."""
    from course import cache, contract, pipeline

    course = _course()
    slugs = course.slugs()
    for slug in TRAINING:
        assert slug in slugs, f"{slug} is not installed"
    for reg in course.concepts:
        default = pipeline.settings_of(reg, profile="default")
        paper = pipeline.settings_of(reg, profile="paper")
        assert not contract.settings(paper)
        assert default == reg.concept.settings(False)
        if reg.concept.slug == "geometry" and not hasattr(reg.concept.experiment_module().Settings, "for_profile"):
            continue  # checked by test_geometry_trains_uniform_superposition_at_the_papers_size
        if reg.concept.slug not in TRAINING:
            assert paper == default  # nothing trained: one setting for both
            continue
        if reg.concept.slug in AT_PAPER_SIZE:
            assert paper == default  # its defaults are the paper's: one cache entry
        else:
            assert paper != default, reg.concept.slug
            assert cache.experiment_key(reg.concept, paper, 0, "cpu") != cache.experiment_key(reg.concept, default, 0, "cpu")
        steps = [v for k, v in _walk(paper) if k.split(".")[-1].endswith("steps") and "rotation" not in k
                 and "ista" not in k and k != "branch_iterations"]
        assert steps and all(v >= 10_000 for v in steps), (reg.concept.slug, steps)


def test_the_paper_profile_gives_the_papers_model_counts():
    from course import pipeline

    course = _course()
    poly = pipeline.settings_of(course.get("polysemanticity"), profile="paper")
    assert (poly["n_features"], poly["n_hidden"], poly["n_seeds"]) == (10, 5, 1000)
    safety = pipeline.settings_of(course.get("why-it-matters"), profile="paper")
    assert safety["neuron"]["n_seeds"] == 1000 and safety["neuron_hidden"] == 5
    sparsity = pipeline.settings_of(course.get("sparsity"), profile="paper")
    assert sparsity["phase"]["n_seeds"] == 10
    assert (sparsity["n_features"], sparsity["n_hidden"]) == (20, 5)  # the paper's basic results
    # the interference chapter reads the sparsity experiment: the same settings
    assert pipeline.settings_of(course.get("interference"), profile="paper") == sparsity
    # quick settings are quick whatever the profile
    reg = course.get("polysemanticity")
    assert pipeline.settings_of(reg, quick=True, profile="paper") == reg.concept.settings(True)


def test_the_profile_reaches_the_pipeline_through_the_environment(monkeypatch):
    from course import pipeline

    monkeypatch.delenv(pipeline.ENV_PROFILE, raising=False)
    assert pipeline.current_profile() == "default" and pipeline.Options().profile == "default"
    monkeypatch.setenv(pipeline.ENV_PROFILE, "paper")
    assert pipeline.Options().profile == "paper"
    assert pipeline.Options(profile="default").profile == "default"
    monkeypatch.setenv(pipeline.ENV_PROFILE, "huge")
    with pytest.raises(ValueError, match="default or paper"):
        pipeline.current_profile()


@pytest.mark.parametrize("command", ["build", "run"])
def test_a_bad_profile_is_one_line_before_anything_runs(command, tmp_path):
    from click.testing import CliRunner

    from course.cli import cli

    args = [command, "--profile", "huge"] + (["--out", str(tmp_path / "book")] if command == "build" else ["superposition"])
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2
    assert "'huge' is not one of 'default', 'paper'" in res.output
    assert "Traceback" not in res.output
    assert not (tmp_path / "book").exists()


def test_update_replaces_the_fields_of_a_nested_part():
    @dataclass(frozen=True)
    class Part:
        steps: int = 5
        n_seeds: int = 2

    assert profiles.update(Part(), "paper", steps="steps", n_seeds="phase_models") == Part(10_000, 10)
    assert profiles.update(Part(steps=7), "default", steps="steps") == Part(steps=7)
    with pytest.raises(TypeError):
        profiles.update(Part, "paper", steps="steps")


def test_geometry_trains_uniform_superposition_at_the_papers_size():
    from course import pipeline

    reg = _course().get("geometry")
    if not hasattr(reg.concept.experiment_module().Settings, "for_profile"):
        pytest.skip("the geometry plugin has no Settings.for_profile yet")
    paper = pipeline.settings_of(reg, profile="paper")
    assert (paper["n_features"], paper["n_hidden"]) == (400, 30)
    assert paper["steps"] >= 10_000
