"""The module definition served by ``GET /v1/database/NAME/schema?version=9`` (RawModuleDefV9).

Only what a client needs is kept: the typespace and its type names, each table's row type,
primary key and indexes, and each reducer's parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from .algebraic import ProductType, Ref, Typespace, parse_name, parse_product, parse_type
from .errors import SchemaError


@attrs.frozen
class IndexDef:
    """An index of a table: its name, algorithm and column indexes."""

    name: str | None
    algorithm: str
    """``BTree``, ``Hash`` or ``Direct``."""
    columns: tuple[int, ...]


@attrs.frozen
class TableDef:
    """A table as the module declares it: row type, keys, indexes, visibility."""

    name: str
    type_ref: Ref
    row_type: ProductType
    primary_key: tuple[int, ...]
    """Column indexes of the primary key; empty when the table has none."""
    unique_columns: tuple[tuple[int, ...], ...]
    indexes: tuple[IndexDef, ...]
    public: bool
    system: bool

    @property
    def column_names(self) -> tuple[str, ...]:
        """The columns' names in row order."""
        return tuple(str(name) for name in self.row_type.field_names)

    @property
    def primary_key_names(self) -> tuple[str, ...]:
        """The primary key's column names (empty when there is none)."""
        names = self.column_names
        return tuple(names[i] for i in self.primary_key)


@attrs.frozen
class ReducerDef:
    """A reducer: its name, its parameters as a product type, and its lifecycle role."""

    name: str
    params: ProductType
    lifecycle: str | None
    """``Init``, ``OnConnect`` or ``OnDisconnect`` for lifecycle reducers, which clients
    cannot call."""


@attrs.frozen
class ModuleSchema:
    """A module's schema (``/schema?version=9``): its types, tables and reducers."""

    typespace: Typespace
    type_names: Mapping[int, str]
    """Typespace index -> scoped type name (``scope::Name``) of the module's named types."""
    tables: Mapping[str, TableDef]
    reducers: Mapping[str, ReducerDef]

    @classmethod
    def from_json(cls, obj: Any) -> ModuleSchema:
        """Parses the server's schema JSON; SchemaError when it is malformed."""
        if not isinstance(obj, Mapping):
            raise SchemaError(f"a module schema is a JSON object, got {type(obj).__name__}")
        typespace = Typespace(
            tuple(
                parse_type(t, f"typespace[{i}]")
                for i, t in enumerate(_list(_get(obj, "typespace", "schema"), "types"))
            )
        )
        type_names = {
            _int(_get(t, "ty", "types[]")): _scoped_name(_get(t, "name", "types[]"))
            for t in _list(obj, "types")
        }
        tables = {}
        for raw in _list(obj, "tables"):
            table = _parse_table(raw, typespace)
            tables[table.name] = table
        reducers = {}
        for raw in _list(obj, "reducers"):
            name = _str(_get(raw, "name", "reducer"))
            params = parse_product(_get(raw, "params", name), f"reducer {name}")
            lifecycle = _option_tag(raw.get("lifecycle"), f"reducer {name}.lifecycle")
            reducers[name] = ReducerDef(name, params, lifecycle)
        return cls(typespace, type_names, tables, reducers)

    def table(self, name: str) -> TableDef:
        """The table called ``name``; SchemaError when there is none."""
        try:
            return self.tables[name]
        except KeyError:
            raise SchemaError(
                f"the module has no table {name!r}; tables: {', '.join(sorted(self.tables))}"
            ) from None

    def reducer(self, name: str) -> ReducerDef:
        """The reducer called ``name``; SchemaError when there is none."""
        try:
            reducer = self.reducers[name]
        except KeyError:
            raise SchemaError(
                f"the module has no reducer {name!r}; reducers: {', '.join(sorted(self.reducers))}"
            ) from None
        return reducer


def _parse_table(raw: Any, typespace: Typespace) -> TableDef:
    name = _str(_get(raw, "name", "table"))
    type_ref = Ref(_int(_get(raw, "product_type_ref", name)))
    row_type = typespace.resolve(type_ref)
    if not isinstance(row_type, ProductType) or any(e.name is None for e in row_type.elements):
        raise SchemaError(f"table {name!r}: the row type must be a product with named columns")
    indexes = []
    for i, index in enumerate(_list(raw, "indexes")):
        algorithm = _get(index, "algorithm", f"{name}.indexes[{i}]")
        if not isinstance(algorithm, Mapping) or len(algorithm) != 1:
            raise SchemaError(f"table {name!r}: bad index algorithm {algorithm!r}")
        ((kind, body),) = algorithm.items()
        indexes.append(
            IndexDef(parse_name(index.get("name"), f"{name}.indexes[{i}]"), kind, _columns(body))
        )
    unique = []
    for constraint in _list(raw, "constraints"):
        data = _get(constraint, "data", name)
        if isinstance(data, Mapping) and "Unique" in data:
            unique.append(_columns(data["Unique"]))
    return TableDef(
        name=name,
        type_ref=type_ref,
        row_type=row_type,
        primary_key=_columns(_get(raw, "primary_key", name)),
        unique_columns=tuple(unique),
        indexes=tuple(indexes),
        public=_tag(raw.get("table_access"), f"{name}.table_access") == "Public",
        system=_tag(raw.get("table_type"), f"{name}.table_type") == "System",
    )


def _columns(body: Any) -> tuple[int, ...]:
    """Column lists appear bare (``[0, 2]``), as ``{"columns": [...]}`` or as ``{"column": 0}``."""
    if isinstance(body, Mapping):
        body = body.get("columns", [body.get("column")])
    if isinstance(body, int):
        body = [body]
    if not isinstance(body, list) or not all(isinstance(c, int) for c in body):
        raise SchemaError(f"expected a list of column indexes, got {body!r}")
    return tuple(body)


def _tag(obj: Any, where: str) -> str:
    """Reads a plain enum value, ``{"Tag": []}``, as its tag."""
    if isinstance(obj, Mapping) and len(obj) == 1:
        return str(next(iter(obj)))
    raise SchemaError(f'{where}: expected an enum tag like {{"Public": []}}, got {obj!r}')


def _option_tag(obj: Any, where: str) -> str | None:
    """Reads ``{"some": {"Tag": []}}`` / ``{"none": []}`` as the tag or None."""
    if isinstance(obj, Mapping) and "none" in obj:
        return None
    if isinstance(obj, Mapping) and "some" in obj:
        return _tag(obj["some"], where)
    raise SchemaError(f"{where}: expected an optional enum tag, got {obj!r}")


def _scoped_name(obj: Any) -> str:
    scope = _get(obj, "scope", "type name")
    if not isinstance(scope, list):
        raise SchemaError(f"a type name's scope is a list, got {scope!r}")
    return "::".join([*map(str, scope), _str(_get(obj, "name", "type name"))])


def _get(obj: Any, key: str, where: str) -> Any:
    if not isinstance(obj, Mapping) or key not in obj:
        raise SchemaError(f"{where}: missing {key!r} in {str(obj)[:200]}")
    return obj[key]


def _list(obj: Any, key: str) -> list[Any]:
    value = _get(obj, key, "schema")
    if not isinstance(value, list):
        raise SchemaError(f"schema: {key!r} must be a list, got {type(value).__name__}")
    return value


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise SchemaError(f"expected a name, got {value!r}")
    return value


def _int(value: Any) -> int:
    if not isinstance(value, int):
        raise SchemaError(f"expected an integer, got {value!r}")
    return value
