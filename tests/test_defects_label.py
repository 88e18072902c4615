"""Labelling a defect from the CLI: the same write (label + audit row, one transaction) as the Review screen."""

from __future__ import annotations

import time

import numpy as np
import pytest

from resad_station.cli.main import main
from resad_station.defects.review import DefectReview
from resad_station.storage import open_station_database
from resad_station.storage import repository as repo


@pytest.fixture
def data_dir(tmp_path):
    """A station data directory with three logged fail defects of product 'board'."""
    db = open_station_database(tmp_path)
    image = db.images.put_image(np.full((32, 32, 3), 90, np.uint8))
    with db.session() as s:
        product = repo.get_or_create_product(s, "board")
        for i in range(3):
            repo.add_defect(s, product_id=product.id, camera="cam1", time=time.time() - i, verdict="fail",
                            score=5.0 + i, image=image)
    db.close()
    return tmp_path


def cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_defects_label_writes_the_label_and_its_audit_row(data_dir, capsys):
    db = open_station_database(data_dir)
    try:
        newest = DefectReview(db).page(product="board")[0][0]
        code, out, err = cli(capsys, "--data-dir", data_dir, "defects", "label", newest.id, "false_alarm",
                             "--note", "glare on the connector", "--by", "rita")
        assert code == 0, err
        assert out.strip() == f"defect {newest.id} labelled false_alarm by operator:rita"
        rows, total = DefectReview(db).page(label="false_alarm")
        assert total == 1 and (rows[0].id, rows[0].reviewer, rows[0].note) == (
            newest.id, "operator:rita", "glare on the connector")
        with db.read_session() as s:
            [event] = repo.list_audit_events(s, action="label_defect")
            assert event.details == {"defect": newest.id, "label": "false_alarm", "note": "glare on the connector"}
            assert event.actor == "operator:rita"
        code, out, _ = cli(capsys, "--data-dir", data_dir, "defects", "list", "--label", "false_alarm")
        assert code == 0 and out.strip().endswith("1 of 1 defect(s)")
    finally:
        db.close()


def test_labelling_an_unknown_defect_says_so_and_writes_nothing(data_dir, capsys):
    code, _, err = cli(capsys, "--data-dir", data_dir, "defects", "label", 999, "defect")
    assert code == 1 and "no defect with id 999" in err
    with pytest.raises(SystemExit) as info:
        main(["--data-dir", str(data_dir), "defects", "label", "1", "scratch"])
    assert info.value.code == 2  # argparse names the valid labels
    db = open_station_database(data_dir)
    try:
        with db.read_session() as s:
            assert repo.list_audit_events(s) == []
        assert DefectReview(db).page(label="none")[1] == 3
    finally:
        db.close()
