"""Loading, finding, listing and saving product profiles (YAML via yaml.safe_load only)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import ValidationError

from resad_station.paths import SHIPPED_PROFILES_DIR, user_profiles_dir
from resad_station.profiles.errors import ProfileError, top_level_error, validation_error, yaml_error
from resad_station.profiles.model import Profile
from resad_station.safe_yaml import YamlLimitError, load_limited
from resad_station.storage.atomic import atomic_write_bytes

PROFILE_SUFFIXES = (".yaml", ".yml")
# Limits on what a profile file may make the loader build (hostile or broken files, see README "Limits")
MAX_PROFILE_BYTES = 1_000_000  # nesting and alias limits: resad_station/safe_yaml.py


def safe_load_limited(text: str, source_name: str):
    """yaml.safe_load, refusing files that are too big, nest too deep or expand too far."""
    if len(text) > MAX_PROFILE_BYTES:
        raise ProfileError.single(source_name, f"too large: {len(text)} characters (a profile is at most "
                                               f"{MAX_PROFILE_BYTES})")
    try:
        return load_limited(text)
    except YamlLimitError as exc:
        raise ProfileError.single(source_name, f"refused: {exc}") from None
    except yaml.YAMLError as exc:
        raise yaml_error(source_name, exc) from None


def validate_profile_text(text: str, source_name: str, source_path: str | os.PathLike | None = None) -> Profile:
    """Validate YAML text as a profile (the editor calls this as you type).

    `source_name` names the text in messages; `source_path`, when given, is the file relative
    paths in the profile resolve against. Raises ProfileError listing every problem.
    """
    data = safe_load_limited(text, source_name)
    if not isinstance(data, dict):
        raise top_level_error(source_name, data, list(Profile.model_fields))
    try:
        profile = Profile.model_validate(data)
    except ValidationError as exc:
        raise validation_error(source_name, exc, Profile, text) from None
    return profile.with_source(Path(source_path) if source_path is not None else None)


def load_profile(path: str | os.PathLike) -> Profile:
    """Read and validate the profile file at `path`; messages name the file by its base name."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ProfileError.single(path.name, f"cannot read the file: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProfileError.single(path.name, f"not UTF-8 text (byte {exc.start})") from None
    return validate_profile_text(text, path.name, source_path=path)


class _ProfileDumper(yaml.SafeDumper):
    """Block style for sections, flow style for short lists ([uncertain, fail], roi)."""


def _represent_list(dumper: yaml.SafeDumper, data: list) -> yaml.Node:
    flow = all(not isinstance(v, (dict, list)) for v in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_ProfileDumper.add_representer(list, _represent_list)


def profile_to_yaml(profile: Profile) -> str:
    """The profile as YAML text, in the documented field order (comments are not kept)."""
    data = profile.model_dump(mode="json")
    return yaml.dump(data, Dumper=_ProfileDumper, sort_keys=False, allow_unicode=True, default_flow_style=False)


def save_profile(profile: Profile, path: str | os.PathLike | None = None) -> Path:
    """Write the profile atomically to `path` (default: its source file); returns the path."""
    target = Path(path) if path is not None else profile.source_path
    if target is None:
        raise ValueError("save_profile: the profile has no source file; pass a path")
    atomic_write_bytes(target, profile_to_yaml(profile).encode("utf-8"))
    return target


@dataclass(frozen=True)
class ProfileEntry:
    """One profile file found on disk; `error` is set (and name/product empty) when it is invalid."""

    path: Path
    origin: Literal["user", "shipped", "example"]
    name: str = ""
    product: str = ""
    camera_kind: str = ""
    error: str | None = None


def _profile_dirs(data_dir: Path | None) -> list[tuple[Path, Literal["user", "shipped", "example"]]]:
    dirs: list[tuple[Path, Literal["user", "shipped", "example"]]] = []
    if data_dir is not None:
        dirs.append((user_profiles_dir(Path(data_dir)), "user"))  # user profiles shadow shipped ones
    dirs += [(SHIPPED_PROFILES_DIR, "shipped"), (SHIPPED_PROFILES_DIR / "examples", "example")]
    return dirs


def _profile_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in PROFILE_SUFFIXES and p.is_file())


def list_profiles(data_dir: str | os.PathLike | None = None) -> list[ProfileEntry]:
    """Every profile file: the user profiles dir first, then shipped profiles and examples."""
    entries = []
    for folder, origin in _profile_dirs(Path(data_dir) if data_dir is not None else None):
        for path in _profile_files(folder):
            try:
                p = load_profile(path)
            except ProfileError as exc:
                entries.append(ProfileEntry(path, origin, error=str(exc)))
            else:
                entries.append(ProfileEntry(path, origin, p.name, p.product, p.camera.kind))
    return entries


def find_profile(name_or_path: str | os.PathLike, data_dir: str | os.PathLike | None = None) -> Path:
    """The file of a profile given as a path, a file stem ("demo") or a profile `name:`.

    Looks in the user profiles dir, then the shipped profiles/ and profiles/examples/.
    Raises ProfileError naming what was searched when nothing matches.
    """
    given = Path(name_or_path)
    if given.is_file():
        return given
    # "profiles/demo.yaml" (as the Makefile and docs write it) works from any working directory.
    from_repo = SHIPPED_PROFILES_DIR.parent / given
    if not given.is_absolute() and given.parts[:1] == (SHIPPED_PROFILES_DIR.name,) and from_repo.is_file():
        return from_repo
    text = str(name_or_path)
    dirs = _profile_dirs(Path(data_dir) if data_dir is not None else None)
    for folder, _ in dirs:
        for suffix in ("", *PROFILE_SUFFIXES):
            candidate = folder / f"{text}{suffix}"
            if candidate.suffix in PROFILE_SUFFIXES and candidate.is_file():
                return candidate
    for entry in list_profiles(data_dir):
        if entry.error is None and entry.name == text:
            return entry.path
    searched = ", ".join(str(folder) for folder, _ in dirs)
    raise ProfileError.single(text, f"no such profile file or profile name (searched {searched})")
