"""Who may change what passes, and what the station notices when someone changes it behind its back:
the engineer PIN on the CLI (prompt or --pin-file, back-off), sealed reference sets, audited profile
changes, owner-only files, export that never leaves the store, and one-line storage errors."""

from __future__ import annotations

import csv
import hashlib
import os
import stat
import subprocess
import sys
import zipfile
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from station_helpers import REFERENCE_FILES, REPO

from engine import EngineError, ReferenceSet
from resad_station.access.authorize import AccessDenied, engineer_actor
from resad_station.access.pins import PinError, PinLockedError, PinStore, delay_after
from resad_station.access.secret import SECRET_FILE
from resad_station.cli.main import main
from resad_station.defects.export import export_csv, export_zip
from resad_station.profiles import load_profile
from resad_station.runtime.profile_audit import record_profile
from resad_station.storage import StorageError, open_station_database
from resad_station.storage import repository as repo
from resad_station.storage.sealing import seal_problem

PIN = "246813"


def cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def add_set(db, product="widget", calibration=None) -> int:
    with db.session() as s:
        p = repo.get_or_create_product(s, product)
        rs = repo.add_reference_set(s, p, features=b"blob", backbone="lite0", engine_version="1", input_size=256,
                                    shots=4, calibration=calibration or {"t_uncertain": 1.0, "t_fail": 2.0})
        return rs.id


# -- the PIN --------------------------------------------------------------------------------------

def test_pin_needs_six_digits_the_old_pin_to_change_and_backs_off_across_processes(tmp_path):
    now = [1000.0]
    pins = PinStore(tmp_path, clock=lambda: now[0])
    with pytest.raises(PinError, match="at least 6 digits"):
        pins.set_pin("2468")
    pins.set_pin(PIN)
    assert stat.S_IMODE(pins.path.stat().st_mode) == 0o600
    with pytest.raises(PinError, match="needs the current PIN"):
        pins.set_pin("135790")
    with pytest.raises(PinError, match="current PIN is wrong"):
        pins.set_pin("135790", current="000000")
    for _ in range(2):  # the wrong current PIN above was the first failure
        assert not pins.verify("000000")
    with pytest.raises(PinLockedError, match="try again in 5 s"):
        pins.verify(PIN)  # not even the right PIN is checked while backing off
    again = PinStore(tmp_path, clock=lambda: now[0])  # a new process: the count is on disk
    with pytest.raises(PinLockedError):
        again.verify(PIN)
    now[0] += 5.0
    assert not again.verify("111111")  # the 4th wrong one: the wait doubles
    assert again.retry_in_s() == 10.0 and delay_after(20) == 15 * 60
    now[0] += 10.0
    assert again.verify(PIN) and again.retry_in_s() == 0.0  # a right PIN resets the count
    assert not again.attempts_path.exists()


def test_cli_enroll_and_activate_need_the_engineer_pin(tmp_path, capsys):
    data = tmp_path / "data"
    db = open_station_database(data)
    add_set(db)
    add_set(db)
    db.close()
    # no PIN set: nobody is an engineer yet (the first PIN comes only from `gui --set-pin`)
    code, _, err = cli(capsys, "--data-dir", data, "enroll", "--product", "widget", "--activate", "1")
    assert code == 1 and "none is set on this station" in err and "--set-pin" in err
    PinStore(data).set_pin(PIN)
    code, _, err = cli(capsys, "--data-dir", data, "enroll", "--product", "widget", "--activate", "1")
    assert code == 1 and "needs the engineer PIN: run it on a terminal" in err  # stdin is no terminal here
    wrong = tmp_path / "wrong"
    wrong.write_text("999999\n")
    code, _, err = cli(capsys, "--data-dir", data, "enroll", "--product", "widget", "--activate", "1",
                       "--pin-file", wrong)
    assert code == 1 and "wrong engineer PIN" in err
    code, _, err = cli(capsys, "--data-dir", data, "enroll", "--product", "widget", *REFERENCE_FILES[:2],
                       "--pin-file", wrong)
    assert code == 1 and "wrong engineer PIN" in err  # refused before the engine even loads
    right = tmp_path / "pin"
    right.write_text(PIN + "\n")
    code, out, err = cli(capsys, "--data-dir", data, "enroll", "--product", "widget", "--activate", "1",
                         "--pin-file", right)
    assert code == 0 and "v1 (active)" in out, err
    db = open_station_database(data)
    with db.read_session() as s:
        (event,) = repo.list_audit_events(s, action="reference_set_activated")
    db.close()
    assert event.actor.startswith("engineer:") and event.actor.endswith("via cli pin-file")


def test_the_prompt_is_used_on_a_terminal(tmp_path, monkeypatch):
    PinStore(tmp_path).set_pin(PIN)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": PIN)
    assert engineer_actor(tmp_path, None, "enroll").endswith("via cli prompt")
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "000000")
    with pytest.raises(AccessDenied, match="wrong engineer PIN"):
        engineer_actor(tmp_path, None, "enroll")


def test_set_pin_from_the_terminal_needs_the_old_pin_and_is_audited(tmp_path, monkeypatch, capsys):
    from ui.cli import main as ui_main

    answers = iter(["135790", "135790"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert ui_main(["--data-dir", str(tmp_path), "gui", "--set-pin"]) == 0
    answers = iter(["000000", "246802", "246802"])  # a wrong current PIN: nothing changes
    assert ui_main(["--data-dir", str(tmp_path), "gui", "--set-pin"]) == 1
    assert "current PIN is wrong" in capsys.readouterr().err and PinStore(tmp_path).verify("135790")
    db = open_station_database(tmp_path)
    with db.read_session() as s:
        assert [e.action for e in repo.list_audit_events(s)] == ["pin_set"]
    db.close()


# -- sealed reference sets --------------------------------------------------------------------------

def test_a_calibration_edited_in_the_database_is_refused_and_db_check_says_so(tmp_path, capsys):
    db = open_station_database(tmp_path)
    ref_id = add_set(db)
    with db.read_session() as s:
        assert seal_problem(db.seal_key, repo.get_reference_set(s, ref_id)) is None
    with db.engine.begin() as conn:  # what an operator with sqlite3 could do: make everything pass
        conn.execute(sa.text("UPDATE reference_set SET calibration = json_set(calibration, '$.t_fail', 1000000.0)"))
    with db.read_session() as s:
        assert "does not verify" in seal_problem(db.seal_key, repo.get_reference_set(s, ref_id))
    db.close()
    code, out, _ = cli(capsys, "--data-dir", tmp_path, "db", "check")
    assert code == 1 and f"reference_set {ref_id}" in out and "MAC does not verify" in out
    assert "features do not load" in out  # the stand-in blob of this test is no reference set either
    secret = tmp_path / SECRET_FILE
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600 and len(secret.read_bytes()) == 32


def test_the_station_refuses_to_inspect_with_a_tampered_reference_set(tmp_path):
    from resad_station.runtime.station import Station, StationError
    from station_helpers import write_profile

    camera = {"kind": "folder", "uri": str(REPO / "profiles" / "demo" / "line")}
    profile = write_profile(tmp_path, "tamper", "pcb-tamper", camera)
    station = Station.open(profile, tmp_path / "data")  # first run: enrolls, sealed
    detector = station.detector
    assert station.active.thresholds.t_fail < 1e5
    with station.db.read_session() as s:  # the first-run enrollment is the station's own, audited act
        (event,) = repo.list_audit_events(s, action="reference_set_enrolled")
    station.close()
    assert event.actor == "system:first-run" and event.details["authorised_as"].startswith("first run")
    assert event.details["profile_sha256"] == hashlib.sha256(profile.read_bytes()).hexdigest()
    db = open_station_database(tmp_path / "data")
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE reference_set SET calibration = json_set(calibration, '$.t_fail', 1000000.0)"))
    db.close()
    with pytest.raises(StationError, match=r"reference set v1 its MAC does not verify.*refusing to inspect"):
        Station.open(profile, tmp_path / "data", detector=detector)


def test_corrupt_reference_blobs_say_what_was_received():
    with pytest.raises(EngineError, match=r"got 0 byte\(s\) \(an empty blob\)"):
        ReferenceSet.from_bytes(b"")
    import torch
    from safetensors.torch import save as st_save

    from engine.references import _content_hash

    tensors = {"shot000.level0": torch.zeros(2, 2)}
    meta = {"format": "resad-station/reference-set", "k": "4", "levels": "3", "input_size": "256",
            "backbone": "b", "engine_version": "1", "sha256": _content_hash(tensors)}
    with pytest.raises(EngineError, match=r"corrupt metadata \(k='4', levels='3'"):
        ReferenceSet.from_bytes(st_save(tensors, metadata=meta))


# -- profiles changed behind the station's back ---------------------------------------------------------

def test_an_edited_or_shadowing_profile_is_audited_with_its_hash(tmp_path):
    db = open_station_database(tmp_path / "data")
    path = tmp_path / "line.yaml"
    path.write_text("name: line\nproduct: p\ncamera: {kind: folder, uri: .}\n")
    assert record_profile(db, load_profile(path)) is None  # first seen: recorded
    assert record_profile(db, load_profile(path)) is None  # unchanged
    path.write_text("name: line\nproduct: p\ncamera: {kind: folder, uri: .}\n"
                    "thresholds: {mode: manual, t_uncertain: 1.0e+5, t_fail: 9.0e+5}\n")
    change = record_profile(db, load_profile(path))
    assert change is not None and change["previous_sha256"] != change["sha256"]
    with db.read_session() as s:
        (event,) = repo.list_audit_events(s, action="profile_changed")
    db.close()
    assert event.details["sha256"] == change["sha256"] and event.details["path"] == str(path.resolve())


# -- files, permissions and export -----------------------------------------------------------------------

def test_station_files_are_owner_only(tmp_path):
    data = tmp_path / "data"
    db = open_station_database(data)
    stored = db.images.put_bytes(b"\x89PNG fake", ".png")
    db.close()
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "station.db").stat().st_mode) == 0o600
    assert stat.S_IMODE(db.images.path(stored.path).stat().st_mode) == 0o600
    assert stat.S_IMODE(db.images.path(stored.path).parent.stat().st_mode) == 0o700


def _defect(db, s, product, image_path, note=""):
    from resad_station.storage.models import Defect, Inspection

    inspection = Inspection(product_id=product.id, camera="cam1", time=datetime.now(timezone.utc), score=0.9,
                            verdict="fail", latency_ms=1.0, frame_index=0)
    s.add(inspection)
    s.flush()
    defect = Defect(inspection_id=inspection.id, product_id=product.id, camera="cam1", time=inspection.time,
                    score=0.9, verdict="fail", image_path=image_path, image_sha256="0" * 64, note=note)
    s.add(defect)
    s.flush()
    return defect


def test_export_never_follows_links_out_of_the_store_skips_bad_rows_and_escapes_formulas(tmp_path):
    db = open_station_database(tmp_path / "data")
    good = db.images.put_bytes(b"good image bytes", ".png")
    secret = tmp_path / "outside.txt"
    secret.write_text("not for export")
    link = db.images.root / "ab" / "link.png"
    link.parent.mkdir(exist_ok=True)
    link.symlink_to(secret)
    with db.session() as s:
        p = repo.get_or_create_product(s, "board")
        _defect(db, s, p, good.path, note="=HYPERLINK(\"http://evil\")")
        _defect(db, s, p, "ab/link.png", note="-3")
        _defect(db, s, p, "../../outside.txt")  # a row whose path leaves the store: skipped, listed
    skipped: list = []
    assert export_zip(db, tmp_path / "d.zip", skipped=skipped) == 2
    with zipfile.ZipFile(tmp_path / "d.zip") as z:
        rows = list(csv.DictReader(z.read("defects.csv").decode().splitlines()))
        contents = b"".join(z.read(n) for n in z.namelist())
    assert b"not for export" not in contents
    assert len(skipped) == 1 and "not a path inside the image store" in skipped[0][1]
    by_source = {r["source"]: r for r in rows}
    assert by_source["'=HYPERLINK(\"http://evil\")"]["image"].startswith("images/")  # escaped, still exported
    assert by_source["-3"]["missing"] == "image outside the store"  # a number stays a number
    assert export_csv(db, tmp_path / "d.csv") == 2
    assert not list(tmp_path.glob(".*partial"))
    # an export that fails leaves no partial file and keeps an older export intact
    (tmp_path / "old.zip").write_bytes(b"the previous export")
    db.close()
    with pytest.raises(StorageError):
        export_zip(db.__class__("sqlite:////nonexistent/dir/x.db", tmp_path / "img2", auto_upgrade=False),
                   tmp_path / "old.zip")
    assert (tmp_path / "old.zip").read_bytes() == b"the previous export" and not list(tmp_path.glob(".*partial"))


# -- storage errors -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("url, expected", [
    ("postgres://u:pw@localhost/x", "unknown database kind 'postgres' (did you mean postgresql://?)"),
    ("mysql://u@localhost/x", "its database driver is not installed"),
    ("notaurl", "not a database URL"),
    ("postgresql://u:secret@127.0.0.1:1/x", "cannot reach the database server"),
])
def test_bad_db_urls_are_one_line_errors(tmp_path, capsys, url, expected):
    code, out, err = cli(capsys, "--data-dir", tmp_path, "--db-url", url, "db", "check")
    assert code == 1 and expected in err and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err and "secret" not in err and ":pw@" not in err


def test_a_read_only_data_directory_says_read_only(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    if os.geteuid() == 0:  # root writes through permissions: use a read-only mount
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(ro)], capture_output=True)
        if mounted.returncode != 0:
            pytest.skip("running as root without mount privileges: no way to make a read-only folder")
    else:
        ro.chmod(0o555)
    try:
        run = subprocess.run([sys.executable, "-m", "resad_station", "--data-dir", str(ro), "db", "upgrade"],
                             capture_output=True, text=True, cwd=REPO, timeout=120)
        assert run.returncode == 1 and "is read-only" in run.stderr and "Traceback" not in run.stderr
        assert "unable to open database file" not in run.stderr
    finally:
        if os.geteuid() == 0:
            subprocess.run(["umount", str(ro)], capture_output=True)
        else:
            ro.chmod(0o755)


def test_sets_from_before_sealing_are_sealed_once_when_the_secret_is_created(tmp_path):
    db = open_station_database(tmp_path)
    ref_id = add_set(db)
    with db.engine.begin() as conn:  # as a database from before sealing: no MAC
        conn.execute(sa.text("UPDATE reference_set SET calibration = json_remove(calibration, '$.mac')"))
    with db.read_session() as s:
        assert "carries no MAC" in seal_problem(db.seal_key, repo.get_reference_set(s, ref_id))
    db.close()
    reopened = open_station_database(tmp_path)  # the secret exists: an unsealed set stays refused
    with reopened.read_session() as s:
        assert "carries no MAC" in seal_problem(reopened.seal_key, repo.get_reference_set(s, ref_id))
    reopened.close()
    (tmp_path / SECRET_FILE).unlink()  # an upgraded station: no secret yet, sets without a MAC
    upgraded = open_station_database(tmp_path, auto_upgrade=False)  # even `db check` seals them first
    with upgraded.read_session() as s:
        assert seal_problem(upgraded.seal_key, repo.get_reference_set(s, ref_id)) is None
        (event,) = repo.list_audit_events(s, action="reference_sets_sealed")
    upgraded.close()
    assert event.details["reference_set_ids"] == [ref_id]
