"""The bodies an admin sends to make or describe a flavor, read as Nova's
request schemas (nova/api/openstack/compute/schemas/flavor_manage.py) read them.

    create   2.1    name, ram, vcpus, disk required; id, OS-FLV-EXT-DATA:ephemeral,
                    swap, rxtx_factor, os-flavor-access:is_public optional
             2.55   description too
    update   2.55   description only (PUT /flavors/{id})

As there, integers may come as strings of digits, `rxtx_factor` as a string
of a decimal, `is_public` as one of Nova's boolean words, and an `id` that is
null or left out becomes a UUID. Anything else is a 400 with the field named.
"""

from __future__ import annotations

import re
import uuid as uuidlib
from typing import Any

from api.db.flavors import StoredFlavor
from api.errors import BadRequest
from api.microversion import Version

DESCRIBED = Version(2, 55)  # flavors carry a description, and PUT sets it
_MAX_INT = 0x7FFFFFFF
_MAX_FLOAT = 3.40282e+38  # Nova's SQL_SP_FLOAT_MAX
_ID = re.compile(r"(?! )[a-zA-Z0-9. _-]{1,255}(?<! )")
_DIGITS = re.compile(r"[0-9]+")
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")
# Nova's parameter_types.name: printable, no leading or trailing white space.
_NAME = re.compile(r"\S(.*\S)?", re.DOTALL)
_TRUE = frozenset({"true", "1", "on", "yes"})
_FALSE = frozenset({"false", "0", "off", "no"})
_INTEGERS = (("ram", 1), ("vcpus", 1), ("disk", 0), ("OS-FLV-EXT-DATA:ephemeral", 0),
             ("swap", 0))
_KEYS = frozenset({"name", "id", "rxtx_factor", "os-flavor-access:is_public"}
                  | {key for key, _ in _INTEGERS})


def _invalid(field: str, value: object, why: str) -> BadRequest:
    return BadRequest(f"Invalid input for field/attribute {field}. Value: {str(value)[:64]}."
                      f" {why}")


def _flavor(body: dict[str, Any]) -> dict[str, Any]:
    raw = body.get("flavor")
    if not isinstance(raw, dict) or set(body) != {"flavor"}:
        raise BadRequest("Invalid input for field/attribute flavor: the body must be"
                         " {\"flavor\": {...}} and nothing else.")
    return raw


def create(body: dict[str, Any], version: Version) -> StoredFlavor:
    """The flavor a POST /flavors body asks for; BadRequest as Nova's schema would."""
    raw = _flavor(body)
    allowed = _KEYS | ({"description"} if version >= DESCRIBED else set())
    extra = sorted(set(raw) - allowed)
    if extra:
        raise BadRequest(f"Invalid input for field/attribute flavor. Additional properties"
                         f" are not allowed ({', '.join(extra)[:128]} unexpected)")
    missing = [key for key in ("name", "ram", "vcpus", "disk") if key not in raw]
    if missing:
        raise BadRequest(f"Invalid input for field/attribute flavor. '{missing[0]}' is a"
                         " required property")
    numbers = {key: _integer(key, raw.get(key, 0), low) for key, low in _INTEGERS}
    return StoredFlavor(
        _flavor_id(raw.get("id")), _name(raw["name"]), numbers["vcpus"], numbers["ram"],
        numbers["disk"], numbers["OS-FLV-EXT-DATA:ephemeral"], numbers["swap"],
        _factor(raw.get("rxtx_factor", 1.0)),
        boolean("os-flavor-access:is_public", raw.get("os-flavor-access:is_public", True)),
        description(raw.get("description")))


def update(body: dict[str, Any]) -> str | None:
    """The description a PUT /flavors/{id} body (2.55+) sets."""
    raw = _flavor(body)
    if set(raw) != {"description"}:
        raise BadRequest("Invalid input for field/attribute flavor. It must have"
                         " 'description' and nothing else.")
    return description(raw["description"])


def _name(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 255 or not _NAME.fullmatch(value) or (
            not value.isprintable()):
        raise _invalid("name", value, "It must be 1 to 255 printable characters, with no"
                       " leading or trailing white space.")
    return value


def _flavor_id(value: Any) -> str:
    if value is None:
        return str(uuidlib.uuid4())
    if isinstance(value, bool) or not isinstance(value, str | int | float) or (
            not _ID.fullmatch(str(value))):
        raise _invalid("id", value, "It must be 1 to 255 of a-z, A-Z, 0-9, '.', '_', '-'"
                       " and inner spaces.")
    return str(value)


def _integer(field: str, value: Any, low: int) -> int:
    text = value if isinstance(value, str) else None
    number = value if isinstance(value, int) and not isinstance(value, bool) else None
    if text is not None and _DIGITS.fullmatch(text):
        number = int(text)
    if number is None or not low <= number <= _MAX_INT:
        raise _invalid(field, value, f"It must be an integer from {low} to {_MAX_INT}.")
    return number


def _factor(value: Any) -> float:
    number = None if isinstance(value, bool) else value
    if isinstance(value, str):
        number = float(value) if _DECIMAL.fullmatch(value) else None
    if not isinstance(number, int | float) or not 0 < number <= _MAX_FLOAT:
        raise _invalid("rxtx_factor", value, "It must be a number above 0.")
    return float(number)


def boolean(field: str, value: Any) -> bool:
    """Nova's parameter_types.boolean: true/false, or a word for one (lower, upper
    or capitalised case)."""
    if isinstance(value, bool):
        return value
    word = value.lower() if isinstance(value, str) else ""
    if value in (word, word.upper(), word.capitalize()) and word in _TRUE | _FALSE:
        return word in _TRUE
    raise _invalid(field, value, "It must be a boolean.")


def description(value: Any) -> str | None:
    """A flavor's description: null, or up to 65535 characters with no control ones."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 65535 or any(
            not ch.isprintable() and ch not in "\n\r\t" for ch in value):
        raise _invalid("description", value, "It must be up to 65535 printable characters.")
    return value
