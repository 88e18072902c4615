"""`resad-station outputs`: try the profile's line outputs, or hash a password for the OPC UA users file.

    resad-station outputs test --profile P      one test message through each output; exit 1 if any failed
    resad-station outputs hash-password         a users-file hash for a password typed at the terminal
"""

from __future__ import annotations

import argparse
import getpass
import sys
import time

NAME = "outputs"
HELP = "test the profile's line outputs (MQTT, OPC UA, Modbus, webhook); hash an OPC UA password"


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="outputs_command", metavar="ACTION", required=True)
    test = sub.add_parser("test", help="send one test message through each output and report what happened")
    test.add_argument("--profile", required=True, help="profile file, file stem or profile name")
    test.add_argument("--timeout", type=float, default=15.0, help="seconds to wait for each output (default 15)")
    sub.add_parser("hash-password", help="print a password hash for the OPC UA users file (reads the password "
                   "from the terminal, or from stdin when piped)")


def _hash_password() -> int:
    from resad_station.outputs.credentials import hash_password

    password = getpass.getpass("password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    if not password:
        print("error: empty password", file=sys.stderr)
        return 1
    print(hash_password(password))
    return 0


def _test(args: argparse.Namespace) -> int:
    from resad_station.outputs import OutputContext, OutputSet, OutputState
    from resad_station.outputs.messages import test_message
    from resad_station.paths import resolve_data_dir
    from resad_station.profiles import ProfileError
    from resad_station.runtime.station import resolve_profile

    try:
        profile = resolve_profile(args.profile, resolve_data_dir(args.data_dir))
    except ProfileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if not profile.outputs:
        print(f"profile {profile.name!r} has no outputs: nothing to test")
        return 0
    outputs = OutputSet.from_configs(profile.outputs, OutputContext(line=profile.name, cameras=(profile.camera.name,),
                                                                    base_dir=profile.base_dir))
    outputs.start()
    message = test_message(profile.name, profile.camera.name)
    for output in outputs.outputs:
        output.offer(message)
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline and any(
            o.status().sent < 1 and o.status().state is not OutputState.FAILED for o in outputs.outputs):
        time.sleep(0.05)
    statuses = outputs.statuses()
    outputs.stop(2.0)
    failed = 0
    for output, status in zip(outputs.outputs, statuses):
        ok = status.sent >= 1
        failed += not ok
        where = output.describe()
        print(f"{'ok  ' if ok else 'FAIL'} {status.name:<12} {where}: "
              + ("test message delivered" if ok else f"{status.state.value}: {status.last_error or 'no answer in time'}"))
    return 1 if failed else 0


def run(args: argparse.Namespace) -> int:
    if args.outputs_command == "hash-password":
        return _hash_password()
    return _test(args)
