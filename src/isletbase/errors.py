"""Exceptions a user can act on.

Every message names the record, field and value at fault and what was expected; the CLI turns
these into one line on stderr and exit code 2, the API into ``application/problem+json`` 4xx.
"""


class IsletbaseError(Exception):
    """Base class for errors isletbase reports to a user rather than as a traceback."""


class InputError(IsletbaseError):
    """A file, record, query or request that isletbase cannot accept as given."""


class NotFoundError(IsletbaseError):
    """A trial, institution or other named thing that is not in the database."""
