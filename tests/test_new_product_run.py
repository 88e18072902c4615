"""The scripted new-product run (resad_station/tools/new_product_run.py) end to end on a small real-image
product: a fresh station (no engineer PIN yet), `enroll` with validation images, every test image
through a folder camera at the thresholds enrollment set."""

import json

import pytest
import skimage.data

from engine import METHODS
from resad_station.tools.new_product_run import main, run
from tests.test_evaluate import _make_category


def test_enrolls_on_a_fresh_station_and_judges_every_test_image(tmp_path, capsys):
    _make_category(tmp_path, "brick", skimage.data.brick()[:480, :480], seed=0)
    result = run(tmp_path / "brick", shots=4, validation=2, method="auto", input_size=128)
    assert result["method"] in METHODS and result["profile_method"] == "auto"
    assert result["search"] in ("guided", "wide")  # a new profile's engine.search "auto": the shots chose
    assert 0 < result["t_uncertain"] < result["t_fail"]
    assert sum(result["good"].values()) == 4 and sum(result["defective"].values()) == 5
    assert sorted(f[0].split("__", 1)[0] for f in result["frames"]) == ["blotch"] * 5 + ["good"] * 4
    # the blotches and scratches are plain to see: the station's thresholds catch most of them
    assert result["defective_caught_pct"] >= 60.0 and result["good"].get("fail", 0) == 0, result
    out = tmp_path / "r.json"
    assert main([str(tmp_path / "brick"), "--shots", "4", "--validation", "2", "--input-size", "128",
                 "--json", str(out)]) == 0
    assert "caught" in capsys.readouterr().out
    assert json.loads(out.read_text())["defective"] == result["defective"]


def test_start_draws_the_shots_further_down_train_good(tmp_path):
    _make_category(tmp_path, "brick", skimage.data.brick()[:480, :480], seed=0)
    result = run(tmp_path / "brick", shots=2, validation=2, input_size=128, start=2)
    assert result["shots"] == ["002.png", "003.png"] and result["start"] == 2
    with pytest.raises(SystemExit, match="2 images from the 4-th, 4 needed"):
        run(tmp_path / "brick", shots=2, validation=2, input_size=128, start=4)
