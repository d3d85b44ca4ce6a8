"""``python -m auditor`` is the same as ``fwaudit``."""

from auditor.cli import main

main()
