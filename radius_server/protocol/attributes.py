"""Named attributes: the product dictionary, loaded once with pyrad, turned into wire bytes.

Policies speak in names (``("Mikrotik-Rate-Limit", "10M/10M")``, ``("ERX-Service-Activate:1",
"svc(1000000,1000000)")``); the engine speaks in bytes. Encoded attributes are cached, since
a plan's reply attributes repeat for every subscriber on it.
"""

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyrad import tools
from pyrad.dictionary import Dictionary

from .constants import VENDOR_SPECIFIC

DICTIONARY_DIR = Path(__file__).resolve().parent / "dictionary"
DICTIONARY_FILE = DICTIONARY_DIR / "dictionary"

_INTEGER_TYPES = frozenset({"integer", "signed", "short", "byte", "integer64", "date"})
_CACHE_LIMIT = 65536

AttributeKey = int | tuple[int, int]
"""A standard attribute's type number, or (vendor id, vendor type) for a vendor attribute."""


@dataclass(frozen=True, slots=True)
class AttributeDef:
    name: str
    key: AttributeKey
    type: str
    has_tag: bool = False
    values: dict[str, int] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)  # values reversed, first name wins

    @property
    def vendor(self) -> int:
        return self.key[0] if isinstance(self.key, tuple) else 0

    @property
    def code(self) -> int:
        return self.key[1] if isinstance(self.key, tuple) else self.key


def load_dictionary(path: Path | str = DICTIONARY_FILE) -> Dictionary:
    """The product dictionary as a pyrad Dictionary (also usable for pyrad clients in tests)."""
    return Dictionary(str(path))


class AttributeCodec:
    """Encode and decode attributes by name, with the vendor wrapping and tags done here."""

    def __init__(self, dictionary: Dictionary | None = None):
        dictionary = dictionary or load_dictionary()
        self._by_name: dict[str, AttributeDef] = {}
        self._by_key: dict[AttributeKey, AttributeDef] = {}
        for name, attr in dictionary.attributes.items():
            if attr.is_sub_attribute or attr.type == "tlv":
                continue
            vendor = dictionary.vendors.GetForward(attr.vendor) if attr.vendor else 0
            key: AttributeKey = (vendor, attr.code) if vendor else attr.code
            values = {}
            if attr.type in _INTEGER_TYPES:
                values = {k: tools.DecodeAttr(attr.type, v) for k, v in attr.values.forward.items()}
            names = {}
            for value_name, number in values.items():
                names.setdefault(number, value_name)
            definition = AttributeDef(name, key, attr.type, attr.has_tag, values, names)
            self._by_name[name] = definition
            self._by_key[key] = definition
        self._cache: dict[tuple[str, Any], bytes] = {}

    def definition(self, name: str) -> AttributeDef:
        """Look up by name; raises KeyError for a name the dictionary does not define."""
        return self._by_name[name]

    def by_key(self, key: AttributeKey) -> AttributeDef | None:
        return self._by_key.get(key)

    def encode(self, name: str, value: Any) -> bytes:
        """One complete attribute on the wire. ``name`` may carry a tag: ``"Tunnel-Type:1"``."""
        cache_key = (name, value)
        try:
            encoded = self._cache.get(cache_key)
        except TypeError:  # unhashable value: encode every time
            return self._encode(name, value)
        if encoded is None:
            encoded = self._encode(name, value)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[cache_key] = encoded
        return encoded

    def _encode(self, name: str, value: Any) -> bytes:
        tag = 0
        if ":" in name:
            name, tag_text = name.rsplit(":", 1)
            tag = int(tag_text)
        definition = self._by_name[name]
        if isinstance(value, str) and definition.values and value in definition.values:
            value = definition.values[value]
        raw = tools.EncodeAttr(definition.type, value)
        if definition.has_tag:
            raw = _add_tag(definition.type, raw, tag)
        return wrap(definition.key, raw)

    def decode(self, definition: AttributeDef, raw: bytes) -> Any:
        """Python value of one attribute's payload; tag octets are dropped."""
        if definition.has_tag and raw:
            if definition.type == "integer":
                raw = b"\x00" + raw[1:]
            elif raw[0] < 0x20:
                raw = raw[1:]
        return tools.DecodeAttr(definition.type, raw)


def _add_tag(datatype: str, raw: bytes, tag: int) -> bytes:
    if not 0 <= tag <= 0x1F:
        raise ValueError(f"tag {tag} out of range 0..31")
    if datatype == "integer":
        return bytes([tag]) + raw[1:]
    return bytes([tag]) + raw if tag else raw


def wrap(key: AttributeKey, raw: bytes) -> bytes:
    """Type-Length-Value framing, inside a Vendor-Specific attribute for vendor keys."""
    if isinstance(key, tuple):
        vendor, code = key
        if len(raw) > 247:
            raise ValueError(f"vendor attribute {key} value longer than 247 octets")
        header = struct.pack("!BBIBB", VENDOR_SPECIFIC, len(raw) + 8, vendor, code, len(raw) + 2)
        return header + raw
    if len(raw) > 253:
        raise ValueError(f"attribute {key} value longer than 253 octets")
    return struct.pack("!BB", key, len(raw) + 2) + raw


def iter_vendor_attributes(value: bytes):
    """Sub-attributes (vendor, type, payload) of one Vendor-Specific value.

    Malformed VSAs (sub-attribute length < 2 or overflowing) yield nothing: the attribute is
    kept as opaque octets instead of failing the packet (FreeRADIUS does the same).
    """
    if len(value) < 6:
        return []
    vendor = int.from_bytes(value[:4], "big")
    subs = []
    pos, end = 4, len(value)
    while pos < end:
        if pos + 2 > end:
            return []
        sub_type, sub_len = value[pos], value[pos + 1]
        if sub_len < 2 or pos + sub_len > end:
            return []
        subs.append((vendor, sub_type, value[pos + 2 : pos + sub_len]))
        pos += sub_len
    return subs
