"""Run the command line with ``python -m stancelabel``."""

from stancelabel.cli.main import main

raise SystemExit(main())
