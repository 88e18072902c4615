"""The demo line's boards, scored as its profile sets them up, separate for every method."""

from engine import Detector
from resad_station.tools.demo_separation import main, separation


def test_every_method_separates_the_demo_boards_with_the_bundled_heads():
    result = separation(Detector.load(None, device="cpu", input_size=256), shots=4)
    assert set(result) == {"resad", "knn", "resad+knn"}
    for method, r in result.items():
        assert (r["good"], r["defect"]) == (54, 6)
        assert r["min_defect"] > r["max_good"] and r["auroc"] == 1.0, (method, r)


def test_the_command_prints_one_line_per_method(capsys):
    assert main(["--shots", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("demo line, 2 shots, 256 px")
    assert [l.split()[0] for l in lines[1:]] == ["resad", "knn", "resad+knn"]
