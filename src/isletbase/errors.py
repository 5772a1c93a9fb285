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


#: JSON's names for the Python types a JSON parser makes, for messages about a JSON input.
_JSON_KINDS = {
    dict: "object",
    list: "array",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


def json_kind(value: object) -> str:
    """What ``value`` is, as JSON names it ("got null", not "got NoneType"): a message about a
    JSON file or request speaks the language its author wrote in."""
    return _JSON_KINDS.get(type(value), type(value).__name__)
