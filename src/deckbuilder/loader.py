"""YAML -> plain data, keeping the line and column of every value.

PyYAML's ``safe_load`` forgets positions and keeps the last of two duplicate keys silently,
so we compose the node graph ourselves and build the data from the nodes, recording where
each value and key stands. Parsing is libyaml's (``CParser``, twenty times faster than the
pure-Python parser: 0.09 s instead of 1.7 s for the real bank); composing stays PyYAML's
Python ``Composer`` so our checks see every node, and constructing is ``SafeConstructor``
(no arbitrary objects).
Hostile input (alias bombs, huge files, binary bytes, deep nesting, foreign tags) becomes
a :class:`~deckbuilder.errors.Problem`, never a traceback.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml._yaml import CParser  # libyaml, which every PyYAML wheel includes
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from deckbuilder.errors import Location, Problem, error
from deckbuilder.sources import read_source

#: Nesting deeper than this is not a question bank; stop before Python's recursion limit.
MAX_DEPTH = 40

#: The tags a safe question file may carry (what YAML's core schema resolves plain scalars to).
_SAFE_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}

PathKey = tuple[str | int, ...]


@dataclass(frozen=True)
class Document:
    """One parsed YAML file: its data and where every value and mapping key stands."""

    path: Path
    data: Any
    #: JSON path of a value -> where the value starts.
    positions: dict[PathKey, Location] = field(default_factory=dict)
    #: JSON path of a mapping entry -> where its key starts (for "unknown field" messages).
    key_positions: dict[PathKey, Location] = field(default_factory=dict)
    #: JSON path of a block scalar (``|`` / ``>``) -> where its first content line starts.
    block_starts: dict[PathKey, Location] = field(default_factory=dict)
    #: JSON paths of ``|`` (literal, not folded) block scalars.
    literal_blocks: set[PathKey] = field(default_factory=set)
    #: JSON path of an unquoted value -> where a ``#`` comment follows it on its line (text
    #: such as ``C# tips`` or ``Annex #15`` silently loses everything from `` #`` on).
    trailing_comments: dict[PathKey, Location] = field(default_factory=dict)

    def is_literal_block(self, path: PathKey) -> bool:
        """True for a ``|`` block: its text lines are the file's lines, one for one."""
        return path in self.literal_blocks

    def locate(self, path: PathKey) -> Location:
        """The closest known position for ``path``: the value, else its nearest parent."""
        probe = tuple(path)
        while probe:
            if probe in self.positions:
                return self.positions[probe]
            probe = probe[:-1]
        return self.positions.get((), Location(self.path, 1, 1))


class _Reject(Exception):
    """Internal: stop composing and report one problem."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


class _PositionLoader(Composer, CParser, SafeConstructor, Resolver):
    """libyaml's events, composed here: refuses aliases (no billion laughs), bounds depth."""

    def __init__(self, stream: str, path: Path) -> None:
        CParser.__init__(self, stream)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self._path = path
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(AliasEvent):
            event: Any = self.peek_event()
            raise _Reject(
                error(
                    _mark(self._path, event.start_mark),
                    "yaml-alias",
                    "YAML aliases (*name) are not allowed in the bank; write the value out",
                )
            )
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                event = self.peek_event()
                raise _Reject(
                    error(
                        _mark(self._path, event.start_mark),
                        "too-deep",
                        f"nesting deeper than {MAX_DEPTH} levels",
                    )
                )
            return super().compose_node(parent, index)  # type: ignore[no-any-return,unused-ignore]
        finally:
            self._depth -= 1


def load_file(path: Path, root: Path | None = None) -> tuple[Document | None, list[Problem]]:
    """Read and parse one YAML file; on failure return ``None`` and the problems that stopped it.

    Only a regular file is opened (symlinks must stay inside ``root`` when it is given).
    """
    raw = read_source(path, root)
    if isinstance(raw, Problem):
        return None, [raw]
    return parse_source(path, raw)


def parse_source(path: Path, raw: bytes) -> tuple[Document | None, list[Problem]]:
    """Parse the bytes of one YAML file (see :func:`load_file`)."""
    whole_file = Location(path)
    text, problem = _decode(path, raw)
    if problem is not None:
        return None, [problem]
    assert text is not None
    loader = _PositionLoader(text, path)
    try:
        node = loader.get_single_node()
        if node is None:
            return Document(path, None, {(): Location(path, 1, 1)}), []
        document = Document(path, None)
        data = _build(loader, node, (), document, text.split("\n"))
        return Document(
            path,
            data,
            document.positions,
            document.key_positions,
            document.block_starts,
            document.literal_blocks,
            document.trailing_comments,
        ), []
    except _Reject as rejected:
        return None, [rejected.problem]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = _mark(path, mark) if mark is not None else whole_file
        context = exc.context
        opened = exc.context_mark
        if context and opened is not None and mark is not None and opened.line != mark.line:
            context += f" that starts on line {opened.line + 1}"  # e.g. an unclosed quote
        reason = ", ".join(part for part in (context, exc.problem) if part) or "invalid YAML"
        if "maximum nesting depth" in reason:  # libyaml stops at 1,000 levels, before we do
            return None, [error(where, "too-deep", f"nesting deeper than {MAX_DEPTH} levels")]
        if mark is not None and _character_at(text, mark) == "\t":
            reason = "a tab cannot indent YAML; indent with spaces"
        return None, [error(where, "yaml-syntax", f"invalid YAML: {reason}")]
    except yaml.YAMLError as exc:
        return None, [error(whole_file, "yaml-syntax", f"invalid YAML: {exc}")]
    except RecursionError:
        return None, [error(whole_file, "too-deep", "nesting is too deep to read")]
    finally:
        loader.dispose()


def _character_at(text: str, mark: Any) -> str:
    lines = text.split("\n")
    line: int = mark.line
    column: int = mark.column
    if 0 <= line < len(lines) and 0 <= column < len(lines[line]):
        return lines[line][column]
    return ""


def _decode(path: Path, raw: bytes) -> tuple[str | None, Problem | None]:
    """Strict UTF-8 (an optional BOM is fine); point at the first byte that is not."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None, error(Location(path, 1, 1), "encoding", "file is UTF-16; save it as UTF-8")
    if b"\x00" in raw:
        return None, error(
            _offset_location(path, raw, raw.index(b"\x00")),
            "binary-file",
            "file contains NUL bytes; it is not a text file",
        )
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        return None, error(
            _offset_location(path, raw, exc.start),
            "encoding",
            f"byte 0x{raw[exc.start]:02x} is not valid UTF-8; save the file as UTF-8",
        )


def _offset_location(path: Path, raw: bytes, offset: int) -> Location:
    before = raw[:offset]
    line = before.count(b"\n") + 1
    column = offset - (before.rfind(b"\n") + 1) + 1
    return Location(path, line, column)


def _mark(path: Path, mark: Any) -> Location:
    return Location(path, mark.line + 1, mark.column + 1)


def _build(
    loader: _PositionLoader, node: Node, where: PathKey, doc: Document, lines: list[str]
) -> Any:
    """Turn a node into plain data, recording positions along the way."""
    doc.positions[where] = _mark(doc.path, node.start_mark)
    if node.tag not in _SAFE_TAGS:
        raise _Reject(
            error(
                _mark(doc.path, node.start_mark),
                "yaml-tag",
                f"YAML tag {node.tag.replace('tag:yaml.org,2002:', '!!')!r} is not allowed;"
                " use plain strings, lists and mappings",
            )
        )
    if isinstance(node, ScalarNode):
        if not node.style:  # plain: None from PyYAML's parser, "" from libyaml's
            comment = _trailing_comment(lines, node)
            if comment is not None:
                doc.trailing_comments[where] = Location(doc.path, comment[0], comment[1])
        if node.style in ("|", ">"):
            doc.block_starts[where] = _block_content_start(doc.path, lines, node)
            if node.style == "|":
                doc.literal_blocks.add(where)
        return loader.construct_object(node, deep=True)
    if isinstance(node, SequenceNode):
        return [_build(loader, item, (*where, i), doc, lines) for i, item in enumerate(node.value)]
    assert isinstance(node, MappingNode)
    result: dict[str, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            raise _Reject(
                error(
                    _mark(doc.path, key_node.start_mark),
                    "key-type",
                    f"mapping keys must be strings, got {key!r}",
                )
            )
        entry: PathKey = (*where, key)
        if key in result:
            first = doc.key_positions[entry]
            raise _Reject(
                error(
                    _mark(doc.path, key_node.start_mark),
                    "duplicate-key",
                    f"duplicate key {key!r} (first defined at line {first.line});"
                    " YAML would silently keep only the last one",
                )
            )
        doc.key_positions[entry] = _mark(doc.path, key_node.start_mark)
        result[key] = _build(loader, value_node, entry, doc, lines)
    return result


def _trailing_comment(lines: list[str], node: ScalarNode) -> tuple[int, int] | None:
    """``(line, column)`` of a ``#`` comment right after a plain scalar, if there is one."""
    end = node.end_mark
    rest = lines[end.line][end.column :] if end.line < len(lines) else ""
    match = re.match(r"\s+#", rest)
    return (end.line + 1, end.column + match.end()) if match else None


def _block_content_start(path: Path, lines: list[str], node: ScalarNode) -> Location:
    """Line and column of the first content line of a ``|``/``>`` block scalar.

    The node's mark points at the indicator; the content starts on the next non-blank line,
    indented by however many spaces the author used.
    """
    for number in range(node.start_mark.line + 1, len(lines)):
        text = lines[number]
        if text.strip():
            return Location(path, number + 1, len(text) - len(text.lstrip(" ")) + 1)
    return Location(path, node.start_mark.line + 1, node.start_mark.column + 1)
