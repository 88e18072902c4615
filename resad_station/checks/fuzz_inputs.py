"""Feed the station malformed image files and profiles and count how each one ends.

    python -m resad_station.checks.fuzz_inputs [--images 300] [--profiles 200] [--seed 0]

Every image goes through a folder camera (the path every file source and enrollment share:
capture/decode.py) and every profile through `load_profile` and, when it loads, through
`profile_to_yaml` (what `profiles show` prints). Each case ends as one of:
  clean      refused with the station's own error (CorruptFrameError / ProfileError)
  accepted   decoded or validated (a mutation can leave a file valid)
  traceback  any other exception: a bug
  hang       took longer than --hang-s seconds
Exit 0 when there is no traceback and no hang. tests/test_fuzz_inputs.py runs a small sample.
"""

from __future__ import annotations

import argparse
import json
import random
import struct
import sys
import tempfile
import time
import traceback
import zlib
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

from resad_station.capture.base import CorruptFrameError
from resad_station.capture.folder import FolderSource
from resad_station.paths import SHIPPED_PROFILES_DIR
from resad_station.profiles import ProfileError, load_profile
from resad_station.profiles.loader import profile_to_yaml

HANG_S = 10.0


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height (the 74-byte "pixel bomb")."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 16))
            + _png_chunk(b"IEND", b""))


def bmp_claiming(width: int, height: int) -> bytes:
    """A BMP header claiming width x height with almost no pixel data."""
    header = struct.pack("<2sIHHI", b"BM", 54 + 16, 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 16, 2835, 2835, 0, 0)
    return header + info + b"\x00" * 16


def _good_images() -> list[tuple[str, bytes]]:
    """One small patterned picture in each format the mutations start from."""
    y, x = np.indices((48, 64))
    bgr = np.dstack([(x * 4) % 256, (y * 5) % 256, ((x + y) % 17) * 15]).astype(np.uint8)
    out = []
    for ext in (".png", ".jpg", ".bmp", ".tif", ".webp"):
        ok, buf = cv2.imencode(ext, bgr)
        if ok:
            out.append((ext, buf.tobytes()))
    return out


def malformed_images(n: int, seed: int = 0) -> list[tuple[str, bytes]]:
    """n (file name, bytes) pairs: truncated, bit-flipped, forged headers, garbage, empty..."""
    rng = random.Random(seed)
    goods = _good_images()
    out: list[tuple[str, bytes]] = []
    for i in range(n):
        ext, data = goods[i % len(goods)]
        kind = i % 10
        if kind == 0:
            data = data[: rng.randrange(0, len(data))]  # cut off anywhere, down to 0 bytes
        elif kind == 1:
            buf = bytearray(data)
            for _ in range(rng.randint(1, 40)):
                buf[rng.randrange(len(buf))] = rng.randrange(256)  # flipped bytes, header included
            data = bytes(buf)
        elif kind == 2:
            w, h = rng.choice([(100_000, 100_000), (20_000, 20_000), (100, 10_000), (1, 1 << 30), (0, 0),
                               (65_535, 65_535), (1 << 31, 2), (10_000, 10_001)])
            ext, data = ".png", png_claiming(w, h)
        elif kind == 3:
            w, h = rng.choice([(100_000, 100_000), (-50_000, 50_000), (30_000, -30_000), (0, 10), (1 << 30, 4)])
            ext, data = ".bmp", bmp_claiming(w, h)
        elif kind == 4:
            data = bytes(rng.randrange(256) for _ in range(rng.randint(1, 2048)))  # garbage with a name
        elif kind == 5:
            data = data[:16] + bytes(rng.randrange(256) for _ in range(rng.randint(0, 512)))  # good magic only
        elif kind == 6:
            other = goods[(i + 1) % len(goods)]
            data = other[1]  # a valid file under the wrong extension
        elif kind == 7:
            cut = rng.randrange(8, len(data))
            data = data[:cut] + data[cut + rng.randint(1, 64):]  # a hole in the middle
        elif kind == 8:
            data = data * rng.randint(2, 4)  # concatenated copies
        else:
            data = b"" if i % 20 == 9 else data[: len(data) // 2] + b"\x00" * (len(data) // 2)
        out.append((f"case{i:04d}{ext}", data))
    return out


def _demo_profile_text() -> str:
    return (SHIPPED_PROFILES_DIR / "demo.yaml").read_text(encoding="utf-8")


_NASTY = [
    "{" * 5000, "- " * 5000, "[" * 200 + "]" * 200, "a: !!python/object/apply:os.system ['echo pwned']\n",
    "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n",
    "", "\x00\x01\x02", "---\n---\n", "name: [unclosed", "? " * 3000, "&a [*a]", "a: *undefined",
]
_VALUES = ["1e308", "1.0e308", "-1", "0", "2e40", ".nan", ".inf", "-.inf", "1099511627776", "1000000000000000000",
           "''", "null", "[]", "{}", "true", "'x' ", "!!binary aGVsbG8=", "0x7fffffff", "*nope", "&anchor 3",
           "'" + "A" * 5000 + "'", "-" * 3]


def malformed_profiles(n: int, seed: int = 0) -> list[tuple[str, bytes]]:
    """n (file name, bytes) pairs: the demo profile mutated, plus known-nasty YAML."""
    rng = random.Random(seed + 1)
    base = _demo_profile_text()
    lines = base.splitlines()
    value_lines = [i for i, line in enumerate(lines) if ":" in line and not line.lstrip().startswith("#")]
    out: list[tuple[str, bytes]] = []
    for i in range(n):
        kind = i % 8
        if i < len(_NASTY):
            text = _NASTY[i]
        elif kind == 0:  # one field gets a hostile value
            new = list(lines)
            j = rng.choice(value_lines)
            key = new[j].split(":", 1)[0]
            new[j] = f"{key}: {rng.choice(_VALUES)}"
            text = "\n".join(new)
        elif kind == 1:  # cut off anywhere
            text = base[: rng.randrange(len(base))]
        elif kind == 2:  # characters that mean something to YAML sprinkled in
            buf = list(base)
            for _ in range(rng.randint(1, 20)):
                buf.insert(rng.randrange(len(buf)), rng.choice(list("{}[]&*!|>:-?#%@`'\"\t\n")))
            text = "".join(buf)
        elif kind == 3:  # lines dropped or swapped
            new = list(lines)
            for _ in range(rng.randint(1, 6)):
                a, b = rng.randrange(len(new)), rng.randrange(len(new))
                new[a], new[b] = new[b], new[a]
            text = "\n".join(new)
        elif kind == 4:  # re-indented
            text = "\n".join((" " * rng.randint(0, 5)) + line if rng.random() < 0.2 else line for line in lines)
        elif kind == 5:  # deep nesting of a random depth
            depth = rng.randint(10, 3000)
            text = "name: x\nproduct: y\ncamera: " + "[" * depth + "1" + "]" * depth
        elif kind == 6:  # aliases fanning out
            fan, levels = rng.randint(2, 12), rng.randint(2, 9)
            parts = ["l0: &l0 [" + ", ".join(["x"] * fan) + "]"]
            for lv in range(1, levels):
                parts.append(f"l{lv}: &l{lv} [" + ", ".join([f"*l{lv - 1}"] * fan) + "]")
            text = "\n".join(parts) + f"\nname: *l{levels - 1}\n"
        else:  # raw bytes: invalid UTF-8 among the text
            raw = bytearray(base.encode())
            for _ in range(rng.randint(1, 10)):
                raw[rng.randrange(len(raw))] = rng.randrange(128, 256)
            out.append((f"profile{i:04d}.yaml", bytes(raw)))
            continue
        out.append((f"profile{i:04d}.yaml", text.encode("utf-8", "surrogatepass")))
    return out


def _classify(fn) -> tuple[str, str]:
    start = time.monotonic()
    try:
        outcome = fn()
    except (CorruptFrameError, ProfileError):
        outcome = "clean"
    except Exception:  # noqa: BLE001 (that is what is being counted)
        return "traceback", traceback.format_exc(limit=4)
    if time.monotonic() - start > HANG_S:
        return "hang", f"{time.monotonic() - start:.1f} s"
    return outcome, ""


def run_images(cases: list[tuple[str, bytes]], folder: Path) -> tuple[Counter, list[str]]:
    counts, notes = Counter(), []
    for name, data in cases:
        case_dir = folder / name.replace(".", "_")
        case_dir.mkdir()
        (case_dir / name).write_bytes(data)
        source = FolderSource(str(case_dir))

        def read_one(source=source) -> str:
            source.open()
            frame = source.read()
            return "accepted" if frame is not None else "clean"

        outcome, note = _classify(read_one)
        counts[outcome] += 1
        if note:
            notes.append(f"{name}: {note}")
    return counts, notes


def run_profiles(cases: list[tuple[str, bytes]], folder: Path) -> tuple[Counter, list[str]]:
    counts, notes = Counter(), []
    for name, data in cases:
        path = folder / name
        path.write_bytes(data)

        def load_and_show(path=path) -> str:
            profile_to_yaml(load_profile(path))
            return "accepted"

        outcome, note = _classify(load_and_show)
        counts[outcome] += 1
        if note:
            notes.append(f"{name}: {note}")
    return counts, notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m resad_station.checks.fuzz_inputs", description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--profiles", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "img").mkdir()
        (root / "prof").mkdir()
        images, image_notes = run_images(malformed_images(args.images, args.seed), root / "img")
        profiles, profile_notes = run_profiles(malformed_profiles(args.profiles, args.seed), root / "prof")
    report = {"images": dict(images), "profiles": dict(profiles)}
    print(json.dumps(report, indent=2))
    for note in image_notes + profile_notes:
        print(note, file=sys.stderr)
    bad = images["traceback"] + images["hang"] + profiles["traceback"] + profiles["hang"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
