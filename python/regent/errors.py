"""The one exception the package raises for a failed regent command."""


class RegentError(Exception):
    """A regent command failed.

    `message` is what the binary said (its stderr, without the `error: `
    prefix), `exit_code` its exit status (1: refused or bad input, 2: a
    usage or environment problem; see the README's exit codes), `args_used`
    the command line without the binary, and `decision` the JSON the binary
    printed on stdout, if any (a refused promotion's checks and reasons).
    """

    def __init__(self, message, exit_code, args_used=(), decision=None):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.args_used = list(args_used)
        self.decision = decision

    def __reduce__(self):
        # Picklable with all its fields (multiprocessing, joblib): the
        # default would call RegentError(message) alone.
        return (RegentError, (self.message, self.exit_code, self.args_used, self.decision))

    def __str__(self):
        return f"{self.message} (regent exited with {self.exit_code})"
