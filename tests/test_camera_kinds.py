"""Camera kinds: one registry, and the profile, open_source and --source guessing agree with it."""

from __future__ import annotations

import importlib
import threading

import numpy as np
import pytest

from resad_station.capture import (CaptureWorker, FolderSource, FrameSource, SourceError, guess_kind, open_source,
                                   register_source, source_class, source_kinds)
from resad_station.capture.registry import unregister_source
from resad_station.profiles import ProfileError, validate_profile_text

SHIPPED = {"device", "folder", "genicam", "hotfolder", "replay", "stream", "video"}


def _profile(kind: str, uri: str = "x", extra: str = ""):
    text = f"name: p\nproduct: w\ncamera:\n  kind: {kind}\n  uri: '{uri}'\n{extra}"
    return validate_profile_text(text, "p.yaml", None)


def test_the_profile_accepts_exactly_the_registered_kinds():
    assert SHIPPED <= set(source_kinds())
    for kind in source_kinds():
        assert source_class(kind).kind == kind
        assert _profile(kind).camera.kind == kind
    with pytest.raises(ProfileError) as info:
        _profile("usb")
    listed = str(info.value).split("input should be ")[1]
    assert all(f"'{kind}'" in listed for kind in source_kinds()) and "(got 'usb')" in listed


def test_open_source_builds_each_kind_from_its_own_config(tmp_path):
    uris = {"device": "0", "stream": "rtsp://127.0.0.1:1/live", "genicam": "producer.cti#serial=42"}
    for kind in SHIPPED:
        source = open_source(kind, uris.get(kind, "line"), base_dir=tmp_path, fps=5, loop=True)
        assert type(source) is source_class(kind)
        if source_class(kind).uri_is_path:
            assert source.uri == str(tmp_path / "line")  # resolved against the profile's folder
    genicam = open_source("genicam", "producer.cti#serial=42", base_dir=tmp_path)
    assert (genicam.cti, genicam.selector) == (str(tmp_path / "producer.cti"), "serial=42")
    assert open_source("replay", "line", base_dir=tmp_path, fps=3).fps == 3


def test_file_kinds_resolve_against_the_profile_folder_and_others_do_not():
    for kind in SHIPPED:
        profile = _profile(kind, "cam/in")
        resolved = profile.camera_location() != "cam/in"
        assert resolved == source_class(kind).uri_is_path, kind


def test_hardware_trigger_only_where_the_kind_supports_it():
    able = [k for k in source_kinds() if source_class(k).hardware_trigger]
    assert able == ["genicam"]
    assert _profile("genicam", extra="  trigger: hardware\n").camera.trigger == "hardware"
    with pytest.raises(ProfileError, match="a hardware trigger needs camera.kind genicam"):
        _profile("folder", extra="  trigger: hardware\n")


def test_source_guessing_picks_registered_kinds():
    assert [guess_kind(u) for u in ("0", "rtsp://cam/live", "run.MP4", "images/line")] == [
        "device", "stream", "video", "folder"]


def test_a_kind_cannot_be_registered_twice():
    class OtherFolder(FolderSource):
        kind = "folder"

    with pytest.raises(ValueError, match="camera kind 'folder' is registered twice"):
        register_source(OtherFolder)
    register_source(FolderSource)  # the same class again is fine
    with pytest.raises(ValueError, match="lower-case name"):
        register_source(type("Nameless", (FolderSource,), {"kind": ""}))


@pytest.fixture
def pattern_kind():
    """The example kind of docs/architecture.md, registered for one test and taken out after."""
    module = importlib.import_module("example_camera_kind")
    register_source(module.PatternSource)
    yield module.PatternSource
    unregister_source("pattern")


def test_a_new_kind_is_one_file_the_profile_and_the_capture_thread_take(pattern_kind):
    assert issubclass(pattern_kind, FrameSource) and "pattern" in source_kinds()
    profile = _profile("pattern", "5")
    source = open_source(profile.camera.kind, profile.camera_location())
    assert isinstance(source, pattern_kind)
    ended = threading.Event()
    worker = CaptureWorker(lambda: source, "triggered", lambda s: ended.set() if s.status == "finished" else None)
    worker.start()
    frames = []
    while (frame := worker.get(timeout=30)) is not None:
        frames.append(frame)
    assert ended.wait(30) and worker.stop(timeout=30)
    assert [f.source_name for f in frames] == [f"pattern#{i}" for i in range(5)]
    assert len({f.image.tobytes() for f in frames}) == 5 and frames[0].image.dtype == np.uint8
    with pytest.raises(SourceError, match="pattern 'none': expected a number of frames"):
        open_source("pattern", "none")


def test_an_unregistered_kind_is_refused_again():
    assert "pattern" not in source_kinds()
    with pytest.raises(SourceError, match="unknown source kind"):
        open_source("pattern", "5")
