"""Where fwaudit looks, and the one way in.

:mod:`~auditor.target.targets` names the places (``host``, ``netns:``, ``pid:``,
``container:``) and resolves them to a network namespace without ever creating one;
:mod:`~auditor.target.runner` is the only code that runs a function or a command inside a
namespace, always with a deadline and a typed error. Collectors and probes use these and never
ask which kind of target they are in.
"""
