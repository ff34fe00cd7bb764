"""Lets callers decode the module's named types into their own classes instead of ``Row``."""

from __future__ import annotations

import enum

import attrs

from .errors import SchemaError


class TypeRegistry:
    """Maps a module type name (as in the schema's ``types``, e.g. ``EntityMetadata``) to a
    Python class used when decoding values of that type.

    - A product type maps to an attrs class whose fields are named like the type's fields;
      it is built with keyword arguments. It must be hashable (``@attrs.frozen``) because
      decoded rows are keys of the client cache.
    - A sum type whose variants carry no data maps to an ``enum.Enum`` whose member names are
      the variant names.

    Instances of these classes are accepted when encoding, as are ``Row`` and plain mappings.
    """

    def __init__(self) -> None:
        self._classes: dict[str, type] = {}

    def register(self, type_name: str, cls: type) -> None:
        """Decodes values of ``type_name`` as ``cls``; SchemaError for a class that cannot be
        one."""
        if issubclass(cls, enum.Enum):
            pass
        elif not attrs.has(cls):
            raise SchemaError(f"{cls.__qualname__} must be an attrs class or an enum.Enum")
        elif getattr(cls, "__hash__", None) is None:
            raise SchemaError(
                f"{cls.__qualname__} is not hashable; declare it with @attrs.frozen so decoded "
                "rows can be cache keys"
            )
        self._classes[type_name] = cls

    def get(self, type_name: str) -> type | None:
        """The class registered for ``type_name``, or None."""
        return self._classes.get(type_name)
