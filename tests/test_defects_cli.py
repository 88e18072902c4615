"""The inspect, enroll and defects commands, run through the real CLI entry point."""

from __future__ import annotations

import csv
import json
import zipfile

from station_helpers import LINE_FILES, REFERENCE_FILES, write_profile

from resad_station.access.pins import PinStore
from resad_station.cli.main import main


def cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_inspect_then_list_and_export_defects(tmp_path, capsys):
    data = tmp_path / "data"
    camera = {"kind": "replay", "uri": "unused", "mode": "triggered", "fps": 60}
    profile = write_profile(tmp_path, "cli-line", "pcb", camera)
    # --source replaces the profile's camera: a folder of images, played once.
    code, out, err = cli(capsys, "--data-dir", data, "inspect", "--profile", profile, "--source",
                         LINE_FILES[0].parent, "--no-loop", "--stats")
    assert code == 0, err
    stats = json.loads(out)
    assert stats["frames_inspected"] == len(LINE_FILES) and stats["stopped_cleanly"]
    kept = stats["counts"]["uncertain"] + stats["counts"]["fail"]
    assert kept > 0 and stats["rss_mb"]["end"] > 0

    code, out, _ = cli(capsys, "--data-dir", data, "defects", "list", "--product", "pcb", "--limit", "1000")
    assert code == 0 and out.strip().endswith(f"{kept} of {kept} defect(s)")
    header, first = out.splitlines()[:2]
    assert header.split() == ["id", "reference", "time", "product", "station", "camera", "verdict", "score", "label",
                              "source"]
    assert first.index(" pcb ") == header.index(" product")  # the columns line up under their names
    assert first.index(" cam1 ") == header.index(" camera")
    code, out, _ = cli(capsys, "--data-dir", data, "defects", "list", "--verdict", "fail", "--since", "1h", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == stats["counts"]["fail"] and all(r["verdict"] == "fail" and r["product"] == "pcb" for r in rows)
    code, out, _ = cli(capsys, "--data-dir", data, "defects", "list", "--label", "false_alarm")
    assert out.strip() == "0 of 0 defect(s)"

    code, out, _ = cli(capsys, "--data-dir", data, "defects", "export", "--format", "csv", tmp_path / "d.csv")
    assert code == 0 and f"exported {kept}" in out
    with open(tmp_path / "d.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert len(table) == kept and all(r["missing"] == "" and r["raw_map"].endswith(".npy") for r in table)
    # the reference (a message's defect_id) is in the CSV, one per row, and `--ref` finds exactly that row
    refs = {r["reference"] for r in table}
    assert len(refs) == kept and all(len(ref) == 36 for ref in refs)
    ref = table[-1]["reference"]
    code, out, _ = cli(capsys, "--data-dir", data, "defects", "list", "--ref", ref)
    assert code == 0 and out.strip().endswith("1 of 1 defect(s)") and f" {table[-1]['id']}  {ref} " in out

    code, out, _ = cli(capsys, "--data-dir", data, "defects", "export", "--format", "zip", "--verdict", "fail",
                       tmp_path / "d.zip")
    with zipfile.ZipFile(tmp_path / "d.zip") as z:
        names = set(z.namelist())
        rows = list(csv.DictReader(z.read("defects.csv").decode().splitlines()))
    assert len(rows) == stats["counts"]["fail"]
    assert all(r["image"] in names and r["heatmap"] in names for r in rows)


def test_defects_bad_since_is_a_clear_usage_error(tmp_path, capsys):
    try:
        main(["--data-dir", str(tmp_path), "defects", "list", "--since", "last tuesday"])
    except SystemExit as exc:
        assert exc.code == 2
    assert "--since 'last tuesday': expected an ISO date/time" in capsys.readouterr().err


def test_enroll_command_reports_rejects_and_versions(tmp_path, capsys):
    data = tmp_path / "data"
    PinStore(data).set_pin("246813")
    pin = tmp_path / "pin"
    pin.write_text("246813\n")
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"not a jpeg at all")
    code, out, err = cli(capsys, "--data-dir", data, "enroll", "--product", "widget", "--method", "knn",
                         "--pin-file", pin, "--shots", "3", *REFERENCE_FILES[:4], corrupt)
    assert code == 0, err
    assert "reference set v1 active, 3 shots" in out and f"rejected {corrupt}: does not decode" in out
    code, out, err = cli(capsys, "--data-dir", data, "enroll", "--product", "widget", "--method", "knn", "--json",
                         "--pin-file", pin, "--validation", LINE_FILES[0].parent, *REFERENCE_FILES[4:])
    result = json.loads(out)
    assert result["version"] == 2 and len(result["good_scores"]["validation"]) > 0
    assert result["good_scores"]["max"] < result["t_uncertain"] < result["t_fail"]
    code, out, _ = cli(capsys, "--data-dir", data, "enroll", "--product", "widget", "--activate", "1", "--pin-file", pin)
    assert code == 0 and "v1 (active)" in out and "v2  " in out
    code, _, err = cli(capsys, "--data-dir", data, "enroll", "--product", "widget", "--method", "knn",
                       "--pin-file", pin, corrupt, corrupt)
    assert code == 1 and "0 usable image(s)" in err and "corrupt.jpg: does not decode" in err


def test_enroll_from_one_image_says_so_before_loading_the_engine(tmp_path, capsys, monkeypatch):
    import resad_station.runtime.station as station_module

    def no_engine(profile):
        raise AssertionError("the engine was loaded for a set that cannot be enrolled")

    monkeypatch.setattr(station_module, "load_detector", no_engine)
    code, _, err = cli(capsys, "--data-dir", tmp_path / "data", "enroll", "--product", "widget", REFERENCE_FILES[0])
    assert code == 1
    assert f"1 image file(s) given ({REFERENCE_FILES[0]}), at least 2 good images are needed" in err


def test_enroll_honours_the_profiles_shots_and_says_which_images_validate(tmp_path, capsys):
    profile = write_profile(tmp_path, "seven", "widget", {"kind": "folder", "uri": "."})  # engine.shots: 4
    images = REFERENCE_FILES[:7]
    PinStore(tmp_path / "data").set_pin("246813")
    pin = tmp_path / "pin"
    pin.write_text("246813\n")
    code, out, err = cli(capsys, "--data-dir", tmp_path / "data", "enroll", "--product", "widget", "--profile",
                         profile, "--pin-file", pin, *images)
    assert code == 0, err
    assert "reference set v1 active, 4 shots" in out
    assert f"  shots: {', '.join(f.name for f in images[:4])}" in out
    assert f"  validation (3, scored for calibration only): {', '.join(f.name for f in images[4:])}" in out
    code, out, err = cli(capsys, "--data-dir", tmp_path / "data", "enroll", "--product", "widget", "--profile",
                         profile, "--json", "--pin-file", pin, *images)
    result = json.loads(out)
    assert len(result["shots"]) == 4 and len(result["validation"]) == 3
    assert len(result["good_scores"]["validation"]) == 3
