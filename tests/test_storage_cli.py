"""`resad-station db upgrade | check` on a real data directory."""

from __future__ import annotations

import sqlite3

from resad_station.cli.main import main as cli_main
from resad_station.storage import head_revision, open_station_database, repository as repo


def test_db_upgrade_then_check_ok(tmp_path, capsys):
    assert cli_main(["--data-dir", str(tmp_path), "db", "check"]) == 1  # nothing there yet
    assert "no database at" in capsys.readouterr().err and not (tmp_path / "station.db").exists()
    assert cli_main(["--data-dir", str(tmp_path), "db", "upgrade"]) == 0
    assert f"upgraded from empty to schema {head_revision()}" in capsys.readouterr().out
    assert cli_main(["--data-dir", str(tmp_path), "db", "upgrade"]) == 0
    assert "already at schema" in capsys.readouterr().out
    assert cli_main(["--data-dir", str(tmp_path), "db", "check"]) == 0
    assert "database check: ok" in capsys.readouterr().out


def test_db_check_lists_a_missing_image_and_exits_1(tmp_path, capsys, rgb_texture):
    db = open_station_database(tmp_path)
    with db.session() as s:
        p = repo.get_or_create_product(s, "pcb")
        d = repo.add_defect(s, product_id=p.id, camera="cam1", time=1.7e9, verdict="fail", score=1.0,
                            image=db.images.put_image(rgb_texture))
    db.images.path(d.image_path).unlink()
    db.close()
    assert cli_main(["--data-dir", str(tmp_path), "db", "check"]) == 1
    out = capsys.readouterr().out
    assert f"problem: defect {d.id}: image_path {d.image_path} is missing" in out
    assert "1 missing, 0 mismatched" in out


def test_db_commands_refuse_a_newer_database(tmp_path, capsys):
    url = f"sqlite:///{(tmp_path / 'other.db').as_posix()}"
    assert cli_main(["--data-dir", str(tmp_path), "--db-url", url, "db", "upgrade"]) == 0
    with sqlite3.connect(tmp_path / "other.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0042_newer'")
    for action in ("upgrade", "check"):
        assert cli_main(["--data-dir", str(tmp_path), "--db-url", url, "db", action]) == 1
        err = capsys.readouterr().err
        assert "schema revision '0042_newer'" in err and "written by a newer ResAD Station" in err
