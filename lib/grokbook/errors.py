"""The two kinds of user error: a parameter out of range, and a command used wrongly. Both carry a
message that names what was wrong and what is allowed; the CLI prints it as one line and exits with
status 2.
"""


class ConfigError(ValueError):
    """A parameter value outside its allowed range; the message names the parameter."""


class UsageError(Exception):
    """A command or option used wrongly (unknown claim, profile, parameter name)."""
