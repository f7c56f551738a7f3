"""``python -m labelsieve``: the same command line as the ``labelsieve`` console script."""

from labelsieve.cli import main

raise SystemExit(main())
