"""Where a station keeps its records: `<data dir>/station.yaml` names the station, the database and
the image folder, so that many stations of a plant can share one database and one image folder.

    station: line3-top                                  # tags every row this station writes
    db_url: postgresql+psycopg://resad@plant-db/plant   # password: ~/.pgpass or PGPASSWORD, not here
    images_dir: /mnt/plant/images                       # a shared folder; relative = to the data dir

Every key is optional: without the file a station is named after its host, keeps a SQLite file
and an `images/` folder in its data directory. `--db-url` on the command line overrides db_url.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from pathlib import Path

import yaml

from resad_station.safe_yaml import YamlLimitError, load_limited

from resad_station.storage.errors import StorageError

FILE_NAME = "station.yaml"
MAX_BYTES = 64 * 1024
KEYS = ("station", "db_url", "images_dir")
STATION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class StationFileError(StorageError):
    """station.yaml is not what it must be; the message names the file and the key."""


@dataclass(frozen=True)
class StorageLocation:
    station: str
    db_url: str
    images_dir: Path


def default_station_name() -> str:
    """The host's name, cut to what a station name may hold."""
    name = re.sub(r"[^A-Za-z0-9._-]", "-", socket.gethostname())[:100].strip("-.") or "station"
    return name if STATION_NAME.match(name) else "station"


def check_station_name(name: object, where: str) -> str:
    if not isinstance(name, str) or not STATION_NAME.match(name):
        raise StationFileError(f"{where}: expected 1-100 letters, digits, '.', '_' or '-' starting with a letter "
                               f"or digit (got {name!r})")
    return name


def read_station_file(data_dir: Path) -> dict[str, str]:
    """The validated keys of `<data_dir>/station.yaml` ({} when there is none)."""
    path = data_dir / FILE_NAME
    if not path.is_file():
        return {}
    raw = path.read_bytes()
    if len(raw) > MAX_BYTES:
        raise StationFileError(f"{path}: {len(raw)} bytes; a station file is at most {MAX_BYTES} bytes")
    try:
        data = load_limited(raw.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError, YamlLimitError) as exc:
        raise StationFileError(f"{path}: not a YAML file ({exc})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise StationFileError(f"{path}: expected a mapping of {', '.join(KEYS)} (got {type(data).__name__})")
    unknown = sorted(str(k) for k in data if k not in KEYS)
    if unknown:
        raise StationFileError(f"{path}: unknown key(s) {', '.join(unknown)}; expected some of {', '.join(KEYS)}")
    for key, value in data.items():
        if not isinstance(value, str) or not value.strip():
            raise StationFileError(f"{path}: {key}: expected a non-empty string (got {value!r})")
    if "station" in data:
        check_station_name(data["station"], f"{path}: station")
    return {k: v.strip() for k, v in data.items()}


def storage_location(data_dir: Path, db_url: str | None = None) -> StorageLocation:
    """The station name, database URL and image folder for this data directory (+ --db-url)."""
    from resad_station.paths import default_db_url, images_dir

    settings = read_station_file(data_dir)
    folder = Path(settings["images_dir"]).expanduser() if "images_dir" in settings else images_dir(data_dir)
    return StorageLocation(
        station=settings.get("station") or default_station_name(),
        db_url=db_url or settings.get("db_url") or default_db_url(data_dir),
        images_dir=folder if folder.is_absolute() else data_dir / folder,
    )
