"""The one exception type that command-line entry points turn into a clear message."""


class HubzooError(Exception):
    """A problem the user can act on; its message is shown as is, without a traceback."""
