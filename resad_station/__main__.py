"""`python -m resad_station`: the headless command line (no gui command)."""

from resad_station.cli.main import main

raise SystemExit(main())
