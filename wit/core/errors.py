"""The one exception type the command frame turns into a clean one-line error."""


class WitError(Exception):
    """A failure the user can act on: bad input, a missing file, an impossible option.

    `wit` prints its message as one line on stderr and exits 1; the traceback is shown only
    with -v. Raise it for anything that is the user's to fix, never for programming errors.
    """


class UsageError(WitError):
    """The command line names something that cannot work (an input without the named columns,
    ...), found before any work starts. `wit` prints it as one line and exits 2, as argparse
    does for its own usage errors."""
