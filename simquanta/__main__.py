"""``python -m simquanta ...``: the same command line as ``simquanta ...``."""

from simquanta.cli import main

raise SystemExit(main())
