"""Product profiles: the shipped ones load, bad files give precise located errors, CLI works."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from pydantic import ValidationError

from resad_station.cli.main import main as cli_main
from resad_station.paths import SHIPPED_PROFILES_DIR
from resad_station.profiles import (
    ProfileError,
    find_profile,
    list_profiles,
    load_profile,
    profile_to_yaml,
    save_profile,
    validate_profile_text,
)

MINIMAL = "name: p1\nproduct: widget\ncamera:\n  kind: folder\n  uri: images\n"


def write(tmp_path: Path, text: str, name: str = "demo.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_shipped_demo_profile_is_the_demo_line():
    p = load_profile(SHIPPED_PROFILES_DIR / "demo.yaml")
    assert (p.camera.kind, p.camera.uri, p.camera.fps, p.camera.mode, p.camera.loop) == (
        "replay", "demo/line", 5, "triggered", True)
    assert p.enrollment.references == "demo/reference"
    assert (p.thresholds.mode, p.thresholds.debounce_frames, p.alarm.latch) == ("auto", 2, True)
    # Relative paths resolve against the profile file's folder, not the working directory.
    assert p.camera_location() == str(SHIPPED_PROFILES_DIR / "demo" / "line")
    assert p.resolve_path(p.enrollment.references) == SHIPPED_PROFILES_DIR / "demo" / "reference"


@pytest.mark.parametrize("path", sorted((SHIPPED_PROFILES_DIR / "examples").glob("*.yaml")), ids=lambda p: p.name)
def test_example_profiles_are_valid(path: Path):
    assert load_profile(path).source_path == path.resolve()


def test_example_lines_of_the_demo_product_run_at_the_size_its_references_were_enrolled_at():
    """The demo product is enrolled by profiles/demo.yaml; a profile of the same product at another
    input size would refuse that reference set at start."""
    demo = load_profile(SHIPPED_PROFILES_DIR / "demo.yaml")
    same = [load_profile(f) for f in sorted((SHIPPED_PROFILES_DIR / "examples").glob("*.yaml"))]
    same = [p for p in same if p.product == demo.product]
    assert len(same) >= 4
    assert {p.name: p.engine.input_size for p in same} == {p.name: demo.engine.input_size for p in same}


def test_the_new_product_template_has_a_new_profile_s_engine_defaults():
    """The README tells a user to start a new product from this file: it must not pin other settings."""
    from resad_station.profiles.model import EngineConfig

    assert load_profile(SHIPPED_PROFILES_DIR / "examples" / "new-product.yaml").engine == EngineConfig()


def test_defaults_fill_everything_but_the_required_fields(tmp_path):
    p = load_profile(write(tmp_path, MINIMAL))
    assert p.engine.input_size == 512 and p.engine.shots == 4 and p.engine.device == "auto"  # a new product's size
    assert p.recording.keep_images == ("uncertain", "fail") and p.outputs == ()
    assert p.camera.mode == "live" and p.camera.fps is None


def test_profile_is_frozen(tmp_path):
    p = load_profile(write(tmp_path, MINIMAL))
    with pytest.raises(ValidationError):
        p.name = "other"
    with pytest.raises(ValidationError):
        p.camera.fps = 3.0


def test_yaml_round_trip_and_atomic_save(tmp_path):
    original = load_profile(SHIPPED_PROFILES_DIR / "examples" / "usb-camera-live.yaml")
    again = validate_profile_text(profile_to_yaml(original), "edited.yaml")
    assert again.model_dump() == original.model_dump()
    edited = original.model_copy(update={"name": "usb-live-2"})
    target = save_profile(edited, tmp_path / "user" / "usb2.yaml")
    reloaded = load_profile(target)
    assert reloaded.name == "usb-live-2" and reloaded.camera.roi == (320, 240, 640, 480)
    assert [p.name for p in target.parent.iterdir()] == ["usb2.yaml"]  # no temp file left behind


BAD_PROFILES = {
    "t_fail_not_above_t_uncertain": (
        MINIMAL + "thresholds:\n  mode: manual\n  t_uncertain: 0.5\n  t_fail: 0.3\n",
        ["demo.yaml: thresholds.t_fail: must be greater than t_uncertain (got 0.3 <= 0.5)"],
    ),
    "bad_type": (
        MINIMAL.replace("uri: images", "uri: images\n  fps: fast"),
        ["demo.yaml: camera.fps: input should be a valid number (got 'fast')"],
    ),
    "bad_bool": (
        MINIMAL + "alarm:\n  latch: maybe\n",
        ["demo.yaml: alarm.latch: input should be a valid boolean (got 'maybe')"],
    ),
    "missing_field": (
        MINIMAL.replace("product: widget\n", ""),
        ["demo.yaml: product: required field is missing"],
    ),
    "unknown_key": (
        MINIMAL + "engine:\n  input_size: 256\n  shot: 4\n",
        ["demo.yaml: engine.shot: unknown field; expected one of: input_size, shots, device, method, search, weights, score_levels, augment, align, image_score, local_features, runtime, onnx, threads"],
    ),
    "not_yaml": (
        "name: [demo\n",
        ["demo.yaml: not valid YAML: expected ',' or ']', but got '<stream end>' (line 2, column 1)"],
    ),
    "empty_file": (
        "\n# only a comment\n",
        ["demo.yaml: the file is empty; expected a YAML mapping with fields name, product, camera, engine, "
         "thresholds, alarm, drift, recording, enrollment, outputs"],
    ),
    "top_level_list": (
        "- name: demo\n",
        ["demo.yaml: the top level is a list; expected a YAML mapping with fields name, product, camera, engine, "
         "thresholds, alarm, drift, recording, enrollment, outputs"],
    ),
    "manual_without_thresholds": (
        MINIMAL + "thresholds:\n  mode: manual\n",
        ["demo.yaml: thresholds.t_uncertain: required when thresholds.mode is manual",
         "demo.yaml: thresholds.t_fail: required when thresholds.mode is manual"],
    ),
    "several_problems_at_once": (
        MINIMAL.replace("kind: folder", "kind: usb") + "engine:\n  input_size: 100\n  shots: 40\n"
        "recording:\n  keep_images: [fail, fail]\n",
        ["demo.yaml: camera.kind: input should be 'device', 'folder', 'genicam', 'hotfolder', 'replay', 'stream' "
         "or 'video' (got 'usb')",
         "demo.yaml: engine.input_size: must be a multiple of 32 (got 100)",
         "demo.yaml: engine.shots: input should be less than or equal to 32 (got 40)",
         "demo.yaml: recording.keep_images: lists a verdict twice (got ['fail', 'fail'])"],
    ),
    "roi_wrong_length": (
        MINIMAL + "  roi: [0, 0, 10]\n",
        ["demo.yaml: camera.roi: expected [x, y, w, h]: 4 integers (got [0, 0, 10])"],
    ),
    "unknown_score_level": (
        MINIMAL + "engine:\n  score_levels: [2, 4]\n",
        ["demo.yaml: engine.score_levels: must list some of the levels 1, 2, 3 (got [2, 4])"],
    ),
    "zero_engine_threads": (
        MINIMAL + "engine:\n  threads: 0\n",
        ["demo.yaml: engine.threads: input should be greater than or equal to 1 (got 0)"],
    ),
    "unknown_method": (
        MINIMAL + "engine:\n  method: patchcore\n",
        ["demo.yaml: engine.method: input should be 'resad', 'knn', 'resad+knn' or 'auto' (got 'patchcore')"],
    ),
    "infinite_fps": (
        MINIMAL + "  fps: .inf\n",
        ["demo.yaml: camera.fps: input should be a finite number (got inf)"],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_PROFILES))
def test_malformed_profile_gives_precise_errors(tmp_path, case):
    text, expected = BAD_PROFILES[case]
    with pytest.raises(ProfileError) as info:
        load_profile(write(tmp_path, text))
    assert str(info.value).splitlines() == expected


def test_editor_validation_reports_the_yaml_line(tmp_path):
    text = MINIMAL + "thresholds:\n  mode: manual\n  t_uncertain: 0.5\n  t_fail: 0.3\n"
    with pytest.raises(ProfileError) as info:
        validate_profile_text(text, "editor")
    (issue,) = info.value.issues
    assert (issue.source, issue.field, issue.line) == ("editor", "thresholds.t_fail", 9)


def test_find_profile_by_path_stem_and_name_user_first(tmp_path):
    assert find_profile("demo", None) == SHIPPED_PROFILES_DIR / "demo.yaml"
    assert find_profile("demo-pcb", None) == SHIPPED_PROFILES_DIR / "demo.yaml"
    assert find_profile("profiles/demo.yaml", None).resolve() == SHIPPED_PROFILES_DIR / "demo.yaml"
    user_dir = tmp_path / "profiles"
    user_dir.mkdir()
    mine = write(user_dir, MINIMAL.replace("name: p1", "name: demo-pcb"), "demo.yaml")
    assert find_profile("demo", tmp_path) == mine  # the user's copy shadows the shipped one
    assert find_profile(str(mine), None) == mine
    with pytest.raises(ProfileError, match="no-such-line: no such profile file or profile name"):
        find_profile("no-such-line", tmp_path)


def test_list_profiles_shows_invalid_ones_with_their_error(tmp_path):
    (tmp_path / "profiles").mkdir()
    write(tmp_path / "profiles", MINIMAL, "good.yaml")
    write(tmp_path / "profiles", "name: x\n", "broken.yml")
    entries = {e.path.name: e for e in list_profiles(tmp_path)}
    assert entries["good.yaml"].origin == "user" and entries["good.yaml"].name == "p1"
    assert entries["broken.yml"].error.startswith("broken.yml: product: required field is missing")
    assert entries["demo.yaml"].origin == "shipped" and entries["demo.yaml"].error is None


def test_cli_check_show_and_list(tmp_path, capsys):
    bad = write(tmp_path, MINIMAL + "thresholds: {mode: manual, t_uncertain: 0.5, t_fail: 0.3}\n", "bad.yaml")
    good = SHIPPED_PROFILES_DIR / "demo.yaml"
    assert cli_main(["--data-dir", str(tmp_path), "profiles", "check", str(good), str(bad)]) == 1
    out, err = capsys.readouterr()
    assert f"ok: {good}" in out
    assert "bad.yaml: thresholds.t_fail: must be greater than t_uncertain (got 0.3 <= 0.5)" in err
    assert cli_main(["--data-dir", str(tmp_path), "profiles", "check", str(good)]) == 0
    capsys.readouterr()
    assert cli_main(["--data-dir", str(tmp_path), "profiles", "show", "demo"]) == 0
    shown = capsys.readouterr().out
    assert validate_profile_text(shown, "shown").model_dump() == load_profile(good).model_dump()
    assert cli_main(["--data-dir", str(tmp_path), "profiles", "list"]) == 0
    assert "demo-pcb" in capsys.readouterr().out
    assert cli_main(["--data-dir", str(tmp_path), "profiles", "show", "nope"]) == 1
