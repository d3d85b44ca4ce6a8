"""Use cases: what each command does, end to end.

The only layer that combines :mod:`~auditor.collect` (reading a target or a snapshot),
:mod:`~auditor.probe` (namespaces and packets), :mod:`~auditor.engine` (pure evaluation and
checks) and :mod:`~auditor.report` (rendering). Each module is one command or group of
commands; :mod:`~auditor.app.loaders` reads the files users name, :mod:`~auditor.app.options`
turns shared option values into typed values. The CLI calls these and renders what they return.
"""
