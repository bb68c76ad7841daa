"""Large YAML seed files (over seed_files.YAML_STREAM_BYTES) read as a stream of parser events.

A file read whole is bounded by the loader's caps (app/yaml_loader.py: 32 MiB, 250,000
nodes), i.e. about 35,000 rows. A larger file is read by the run itself, one row at a time
(memory flat in the number of rows), under the same rules applied per row instead of per
file: no aliases, anchors or merge keys, nesting at most MAX_DEPTH, at most MAX_NODES nodes
in one row, duplicate mapping keys refused naming both lines. Each row goes straight into
its section's bulk path (app/services/seed_bulk.py).

Such a file holds model sections only, in either form:

    model: User                 # one section: model and key come before rows
    key: email
    rows:
      - {email: a@example.com, full_name: A, hashed_password: "$argon2id$..."}

    models:
      - {model: Item, key: name, rows: [...]}

`roles:` and `users:` (passwords read from files and the environment, roles by name) belong
in a smaller file. An error anywhere is a 422 naming file:line and rolls the run back.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app import yaml_loader
from app.services.seed_rows import ModelSection, Row, invalid

SECTION_FIELDS = ("model", "key", "rows")


class _Events:
    """The parser's events, aliases and anchors refused."""

    def __init__(self, loader: Any, source: str) -> None:
        import yaml

        self.loader, self.source = loader, source
        self._get = loader.get_event
        self._plain = (yaml.ScalarEvent, yaml.MappingEndEvent, yaml.SequenceEndEvent)
        self._alias = yaml.AliasEvent
        self._error = yaml.YAMLError

    def next(self) -> Any:
        try:
            event = self._get()
        except self._error as exc:
            line, problem = yaml_loader._problem(exc)
            raise invalid(f"{self.source}:{line}" if line else self.source, problem) from None
        kind = type(event)
        if kind is self._alias:
            raise invalid(
                self.at(event), "YAML aliases (*name) are not allowed; write the value out"
            )
        if getattr(event, "anchor", None) is not None:
            raise invalid(
                self.at(event), "YAML anchors (&name) are not allowed; write the value out"
            )
        return event

    def at(self, event: Any) -> str:
        return f"{self.source}:{event.start_mark.line + 1}"


def _compose(events: _Events, first: Any, stack: list[list[Any]] | None = None) -> Any:
    """The node tree of one value whose first event is `first` (iterative; caps per value);
    `stack` continues a mapping already begun (see _row)."""
    import yaml

    loader = events.loader
    stack = stack if stack is not None else []  # [node, pending mapping key]
    root = stack[0][0] if stack else None
    nodes = 0
    event = first
    while True:
        if isinstance(event, yaml.ScalarEvent):
            tag = event.tag
            if tag is None or tag == "!":
                tag = loader.resolve(yaml.ScalarNode, event.value, event.implicit)
            node: Any = yaml.ScalarNode(
                tag, event.value, event.start_mark, event.end_mark, style=event.style
            )
        elif isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
            kind = (
                yaml.SequenceNode
                if isinstance(event, yaml.SequenceStartEvent)
                else yaml.MappingNode
            )
            tag = event.tag
            if tag is None or tag == "!":
                tag = loader.resolve(kind, None, event.implicit)
            node = kind(tag, [], event.start_mark, None, flow_style=event.flow_style)
            if len(stack) >= yaml_loader.MAX_DEPTH:
                raise invalid(
                    events.at(event), f"nested deeper than {yaml_loader.MAX_DEPTH} levels"
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            done = stack.pop()[0]
            done.end_mark = event.end_mark
            if not stack:
                return done
            event = events.next()
            continue
        else:
            raise invalid(events.at(event), "unexpected YAML content")
        nodes += 1
        if nodes > yaml_loader.MAX_NODES:
            raise invalid(
                events.at(event), f"more than {yaml_loader.MAX_NODES:,} YAML nodes in one row"
            )
        if not stack:
            root = node
        else:
            parent = stack[-1]
            if isinstance(parent[0], yaml.SequenceNode):
                parent[0].value.append(node)
            elif parent[1] is None:
                parent[1] = node
            else:
                parent[0].value.append((parent[1], node))
                parent[1] = None
        if isinstance(node, yaml.ScalarNode):
            if not stack:
                return root
        else:
            stack.append([node, None])
        event = events.next()


def _value(events: _Events, node: Any) -> Any:
    """The Python value of a composed node, after the loader's duplicate-key and merge checks."""
    import yaml

    try:
        yaml_loader._check_duplicate_keys(node, events.source)
    except yaml_loader.YamlError as exc:
        raise invalid(exc.where, exc.message) from None
    loader = events.loader
    if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:str":
        return node.value
    try:
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        line, problem = yaml_loader._problem(exc)
        raise invalid(f"{events.source}:{line or node.start_mark.line + 1}", problem) from None


STR_TAG = "tag:yaml.org,2002:str"


def _plain_tag(loader: Any, event: Any) -> str | None:
    """The tag of a scalar event with no explicit tag (None for an explicit one)."""
    import yaml

    if event.tag is not None and event.tag != "!":
        return None
    value = event.value
    if event.implicit[0] and (not value or value[0] in loader.yaml_implicit_resolvers):
        return loader.resolve(yaml.ScalarNode, value, event.implicit)
    return STR_TAG


def _row(events: _Events, start: Any, section: str, index: int) -> Row:
    """One row from its first event. The common row (a mapping of plain keys to scalars)
    is built straight from the events; any other falls back to a node tree."""
    import yaml

    source = events.source
    line = start.start_mark.line + 1
    if not isinstance(start, yaml.MappingStartEvent):
        raise invalid(f"{source}:{line}: {section}[{index}]", "expected a mapping")
    loader = events.loader
    data: dict[str, Any] = {}
    lines: dict[str, int] = {}
    pairs: list[tuple[Any, Any, str]] = []
    scalar = yaml.ScalarEvent
    while True:
        key = events.next()
        if type(key) is yaml.MappingEndEvent:
            return Row(source, section, index, line, lines, data)
        value = events.next() if type(key) is scalar else None
        if (
            type(key) is not scalar
            or type(value) is not scalar
            or _plain_tag(loader, key) != STR_TAG
            or (tag := _plain_tag(loader, value)) is None
        ):
            return _slow_row(events, start, pairs, key, value, section, index)
        pairs.append((key, value, tag))
        name = key.value
        if name in data:
            raise invalid(
                f"{source}:{key.start_mark.line + 1}",
                f"duplicate key {yaml_loader.fragment(name)} (first at {source}:{lines[name]})",
            )
        lines[name] = key.start_mark.line + 1
        data[name] = value.value if tag == STR_TAG else _value(events, _scalar(value, tag))


def _scalar(event: Any, tag: str) -> Any:
    import yaml

    return yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)


def _slow_row(
    events: _Events,
    start: Any,
    pairs: list[tuple[Any, Any, str]],
    key: Any,
    value: Any,
    section: str,
    index: int,
) -> Row:
    """The row as a node tree: the pairs read so far, then the rest composed."""
    import yaml

    loader = events.loader
    mapping = yaml.MappingNode(
        loader.resolve(yaml.MappingNode, None, start.implicit)
        if start.tag in (None, "!")
        else start.tag,
        [],
        start.start_mark,
        None,
        flow_style=start.flow_style,
    )
    for key_event, value_event, tag in pairs:
        mapping.value.append((_scalar(key_event, STR_TAG), _scalar(value_event, tag)))
    stack: list[list[Any]] = [[mapping, None]]
    if value is None:  # `key` is a collection used as a key
        node = _compose(events, key, stack)
    else:  # a scalar key (read), then its value (read), then the rest
        node = _compose_pair(events, key, value, stack)
    lines = {
        str(k.value): k.start_mark.line + 1 for k, _ in node.value if isinstance(k, yaml.ScalarNode)
    }
    return Row(
        events.source, section, index, start.start_mark.line + 1, lines, _value(events, node)
    )


def _compose_pair(events: _Events, key: Any, value: Any, stack: list[list[Any]]) -> Any:
    """Continue the mapping on `stack` with `key` (a whole scalar) and then `value`."""
    import yaml

    original = events.next
    replay = iter([value])

    def next_event() -> Any:
        for event in replay:
            return event
        events.next = original  # type: ignore[method-assign]
        return original()

    if isinstance(key, yaml.ScalarEvent):
        events.next = next_event  # type: ignore[method-assign]
        return _compose(events, key, stack)
    raise AssertionError("a collection key has no value event read")


def _rows(events: _Events, section: str) -> Iterator[Row]:
    import yaml

    start = events.next()
    if (
        isinstance(start, yaml.ScalarEvent)
        and start.value in ("", "~", "null")
        and start.implicit[0]
    ):
        return
    if not isinstance(start, yaml.SequenceStartEvent):
        raise invalid(f"{events.at(start)}: {section}", "expected a list of rows")
    index = 0
    while True:
        event = events.next()
        if isinstance(event, yaml.SequenceEndEvent):
            return
        yield _row(events, event, section, index)
        index += 1


async def _section(
    db: AsyncSession,
    events: _Events,
    label: str,
    start: Any,
    tally: Any,
    **context: Any,
) -> None:
    """One model section (a mapping of model, key and rows) from its MappingStart event."""
    import yaml

    from app.services.seed_bulk import seed_stream
    from app.services.seed_guards import append_only_problem
    from app.services.seed_rows import table_models

    where = f"{events.at(start)}: {label}"
    if not isinstance(start, yaml.MappingStartEvent):
        raise invalid(where, "expected a mapping with model, key and rows")
    given: dict[str, Any] = {}
    while True:
        event = events.next()
        if isinstance(event, yaml.MappingEndEvent):
            break
        name = _value(events, _compose(events, event))
        if name not in SECTION_FIELDS:
            raise invalid(where, f"unknown field(s) {name}")
        if name in given:
            raise invalid(events.at(event), f"duplicate key {yaml_loader.fragment(name)}")
        if name != "rows":
            given[name] = _value(events, _compose(events, events.next()))
            continue
        given["rows"] = True
        if "model" not in given or "key" not in given:
            raise invalid(
                where,
                "in a YAML file read as a stream (over 4 MiB) give model and key before rows",
            )
        model = table_models().get(str(given["model"]))
        if model is None:
            raise invalid(
                f"{where}.model", f"no table model {yaml_loader.fragment(given['model'])}"
            )
        if problem := append_only_problem(model.__tablename__):
            raise invalid(f"{where}.model", problem)
        key = [given["key"]] if isinstance(given["key"], str) else given["key"]
        columns = set(model.__table__.columns.keys())
        if not key or not isinstance(key, list) or not set(key) <= columns:
            raise invalid(f"{where}.key", f"expected column name(s) of {model.__tablename__}")
        rows = _rows(events, f"{label}.rows")
        section = ModelSection(model=model, key=list(key), rows=[], stream=lambda rows=rows: rows)
        on_section = context.pop("on_section", None)  # the run's fingerprint watch
        if on_section is not None:
            await on_section(model, section.key)
        await seed_stream(db, section, tally, **context)
    if "rows" not in given:
        raise invalid(where, "expected model, key and rows")


async def seed_yaml_stream(db: AsyncSession, seed_file: Any, tally: Any, **context: Any) -> None:
    """Apply every model section of a large YAML file as it is read (see the docstring)."""
    import yaml

    source = seed_file.display
    # Read through the check of the bytes hashed when the file was selected: the rows
    # applied are those of the checksum seed_history records (or yaml_loader.FileChanged).
    with yaml_loader.open_checked(
        seed_file.path, source=source, expected=seed_file.expected
    ) as handle:
        loader = yaml_loader._loader_class()(handle)
        events = _Events(loader, source)
        try:
            events.next()  # StreamStart
            event = events.next()
            if not isinstance(event, yaml.StreamEndEvent):
                await _document(db, events, tally, **context)
                _single_document(events)
        finally:
            loader.dispose()
        yaml_loader.finish(handle)


async def _document(db: AsyncSession, events: _Events, tally: Any, **context: Any) -> None:
    import yaml

    source = events.source
    root = events.next()  # after DocumentStart
    if isinstance(root, yaml.ScalarEvent) and root.value == "" and root.implicit[0]:
        return
    if not isinstance(root, yaml.MappingStartEvent):
        raise invalid(f"{source}:1", "expected a mapping with roles, users, models")
    first = events.next()
    name = _value(events, _compose(events, first))
    if name in SECTION_FIELDS:  # the file is one model section
        await _section_from(db, events, "models[0]", root, first, name, tally, **context)
    else:
        await _sections(db, events, first, name, tally, **context)


def _single_document(events: _Events) -> None:
    """The rest of the stream ends the document: a second one would be hashed into the
    file's checksum but never applied (a file read whole refuses it the same way)."""
    import yaml

    while not isinstance(event := events.next(), yaml.StreamEndEvent):
        if isinstance(event, yaml.DocumentStartEvent):
            raise invalid(
                events.at(event),
                "expected a single document in the stream; found another document",
            )


async def _section_from(
    db: AsyncSession,
    events: _Events,
    label: str,
    root: Any,
    first: Any,
    name: Any,
    tally: Any,
    **context: Any,
) -> None:
    """A file that is one section: its first key is already read; replay it."""
    replay = iter([first])
    original = events.next

    def next_event() -> Any:
        for event in replay:
            return event
        events.next = original  # type: ignore[method-assign]
        return original()

    events.next = next_event  # type: ignore[method-assign]
    await _section(db, events, label, root, tally, **context)


async def _sections(
    db: AsyncSession, events: _Events, first: Any, name: Any, tally: Any, **context: Any
) -> None:
    import yaml

    source = events.source
    while True:
        if name in ("roles", "users"):
            raise invalid(
                f"{events.at(first)}: {name}",
                "a YAML file over 4 MiB is read as a stream and holds model sections only; "
                f"put {name}: in a smaller file",
            )
        if name != "models":
            raise invalid(
                f"{events.at(first)}: {yaml_loader.fragment(name)}",
                "unknown section; expected roles, users, models",
            )
        start = events.next()
        if isinstance(start, yaml.SequenceStartEvent):
            index = 0
            while not isinstance(item := events.next(), yaml.SequenceEndEvent):
                await _section(db, events, f"models[{index}]", item, tally, **context)
                index += 1
        elif not (isinstance(start, yaml.ScalarEvent) and start.value in ("", "~", "null")):
            raise invalid(f"{source}: models", "expected a list of model sections")
        first = events.next()
        if isinstance(first, yaml.MappingEndEvent):
            return
        name = _value(events, _compose(events, first))
