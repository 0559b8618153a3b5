"""What keeps the server safe: content sniffing, SVG sanitising, security headers, names.

* Uploads are typed by their first bytes, never by the client's ``Content-Type`` or file name.
* Every SVG served is parsed and rebuilt from an allow-list of elements and attributes
  (vectile writes only ``<svg>`` and ``<path d fill>``), so nothing executable can get through
  even if a future writer or a bug emitted it.
* Responses carry ``X-Content-Type-Options: nosniff`` and a ``Content-Security-Policy``.
"""

from __future__ import annotations

import re
import unicodedata
import xml.etree.ElementTree as ET
from typing import Final

__all__ = [
    "ACCEPTED_FORMATS",
    "ACCEPTED_PHRASE",
    "API_CSP",
    "PAGE_CSP",
    "SVG_CSP",
    "UnsafeSvgError",
    "display_name",
    "sanitize_svg",
    "security_headers",
    "sniff_image_type",
]

# --- content sniffing -----------------------------------------------------------------------

# (format, file suffix, test on the first 16 bytes). Only formats vectile decodes; SVG, PDF,
# HTML and everything else are refused, whatever the client claims they are.
_SIGNATURES: Final = (
    ("png", ".png", lambda b: b.startswith(b"\x89PNG\r\n\x1a\n")),
    ("jpeg", ".jpg", lambda b: b.startswith(b"\xff\xd8\xff")),
    ("gif", ".gif", lambda b: b[:6] in (b"GIF87a", b"GIF89a")),
    ("webp", ".webp", lambda b: b[:4] == b"RIFF" and b[8:12] == b"WEBP"),
    ("bmp", ".bmp", lambda b: b[:2] == b"BM" and len(b) >= 14),
    ("tiff", ".tif", lambda b: b[:4] in (b"II*\x00", b"MM\x00*")),
)

#: Formats the server accepts, for messages and the OpenAPI description.
ACCEPTED_FORMATS: Final = ("PNG", "JPEG", "GIF", "WebP", "BMP", "TIFF")
#: The same, as a phrase: "PNG, JPEG, GIF, WebP, BMP or TIFF".
ACCEPTED_PHRASE: Final = f"{', '.join(ACCEPTED_FORMATS[:-1])} or {ACCEPTED_FORMATS[-1]}"


def sniff_image_type(data: bytes) -> tuple[str, str] | None:
    """``(format, suffix)`` of an image from its first bytes, or None when not a known image.

    >>> sniff_image_type(b"\\x89PNG\\r\\n\\x1a\\n....")
    ('png', '.png')
    >>> sniff_image_type(b"<svg xmlns='http://www.w3.org/2000/svg'/>") is None
    True
    """
    head = bytes(data[:16])
    for name, suffix, accepts in _SIGNATURES:
        if accepts(head):
            return name, suffix
    return None


# --- SVG sanitising -------------------------------------------------------------------------

_SVG_NS: Final = "http://www.w3.org/2000/svg"
_NUMBER: Final = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_LENGTH: Final = re.compile(rf"^{_NUMBER}(?:px)?$")
_VIEWBOX: Final = re.compile(rf"^\s*{_NUMBER}(?:[\s,]+{_NUMBER}){{3}}\s*$")
_PATH_DATA: Final = re.compile(r"^[MmLlHhVvCcSsQqTtAaZz0-9eE.,+\-\s]*$")
_COLOUR: Final = re.compile(r"^(?:#[0-9a-fA-F]{3,8}|none|rgba?\([0-9.,%\s]+\))$")
_OPACITY: Final = re.compile(rf"^{_NUMBER}%?$")

# element -> attribute -> value check. Anything else (script, foreignObject, style, use, href,
# on* handlers, xml:base, external entities) is dropped.
_ALLOWED: Final[dict[str, dict[str, re.Pattern[str]]]] = {
    "svg": {
        "version": re.compile(r"^1\.[01]$"),
        "width": _LENGTH,
        "height": _LENGTH,
        "viewBox": _VIEWBOX,
    },
    "g": {"fill": _COLOUR, "fill-rule": re.compile(r"^(?:nonzero|evenodd)$")},
    "path": {
        "d": _PATH_DATA,
        "fill": _COLOUR,
        "fill-rule": re.compile(r"^(?:nonzero|evenodd)$"),
        "fill-opacity": _OPACITY,
        "opacity": _OPACITY,
    },
}


class UnsafeSvgError(ValueError):
    """The text is not a well-formed SVG document (it is never served)."""


def sanitize_svg(text: str) -> str:
    """Return ``text`` if it holds only allowed elements and attributes, else a cleaned copy.

    The document is parsed with comments and processing instructions kept, so they are seen
    (and dropped) rather than skipped. When everything in it is on the allow-list the original text is returned
    unchanged, so vectile's byte-identical output stays byte-identical; otherwise a rebuilt
    document with only the allowed parts is returned. Raises :class:`UnsafeSvgError` when the
    text does not parse, declares a DOCTYPE or entities, or its root is not ``<svg>``.

    >>> sanitize_svg('<svg xmlns="http://www.w3.org/2000/svg"><path d="M0 0h1v1z" fill="#f00"/></svg>')
    '<svg xmlns="http://www.w3.org/2000/svg"><path d="M0 0h1v1z" fill="#f00"/></svg>'
    >>> sanitize_svg('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>x</script></svg>')
    '<svg xmlns="http://www.w3.org/2000/svg" />'
    """
    # DOCTYPEs can declare entities that expand into anything (or into a billion laughs);
    # vectile never writes one, so a document with one is refused before parsing.
    upper = text.upper()
    if "<!DOCTYPE" in upper or "<!ENTITY" in upper:
        raise UnsafeSvgError("SVG has a DOCTYPE or entity declaration")
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True, insert_pis=True))
    try:
        parser.feed(text)
        root = parser.close()
    except ET.ParseError as exc:
        raise UnsafeSvgError(f"SVG does not parse: {exc}") from exc
    if root.tag != f"{{{_SVG_NS}}}svg":
        raise UnsafeSvgError(f"root element is {root.tag!r}, not an SVG <svg>")
    # Comments and processing instructions outside the root element are not in the tree:
    # look for them in the text (the XML declaration "<?xml ...?>" is fine).
    outside = "<!--" in text or re.search(r"<\?(?!xml\s)", text) is not None
    if not _clean(root) and not outside:
        return text
    return _serialise(root)


def _clean(element: ET.Element) -> bool:
    """Drop what is not allowed, in place; True when anything was dropped."""
    changed = False
    allowed = _ALLOWED[_local(element.tag)]
    for name, value in list(element.attrib.items()):
        check = allowed.get(name)
        if check is None or not check.match(value):
            del element.attrib[name]
            changed = True
    if element.text is not None and element.text.strip():
        element.text = None
        changed = True
    for child in list(element):
        tag = child.tag if isinstance(child.tag, str) else ""
        if not tag.startswith(f"{{{_SVG_NS}}}") or _local(tag) not in _ALLOWED or _local(tag) == "svg":
            element.remove(child)  # also comments and processing instructions
            changed = True
            continue
        if child.tail is not None and child.tail.strip():
            child.tail = None
            changed = True
        changed = _clean(child) or changed
    return changed


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _serialise(root: ET.Element) -> str:
    """Write the cleaned tree with the SVG namespace as the default one (no ns0: prefixes)."""

    def write(element: ET.Element, out: list[str]) -> None:
        name = _local(element.tag)
        attrs = "".join(f' {k}="{_escape(v)}"' for k, v in element.attrib.items())
        xmlns = f' xmlns="{_SVG_NS}"' if name == "svg" else ""
        children = list(element)
        if not children:
            out.append(f"<{name}{xmlns}{attrs} />")
        else:
            out.append(f"<{name}{xmlns}{attrs}>\n")
            for child in children:
                write(child, out)
                out.append("\n")
            out.append(f"</{name}>")

    parts: list[str] = []
    write(root, parts)
    return "".join(parts)


def _escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


# --- headers --------------------------------------------------------------------------------

#: The page: own scripts and styles only; previews are blob: images (SVG in <img> never runs
#: scripts); no frames, no forms posting elsewhere, no plugins.
PAGE_CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
#: A served SVG opened directly: no scripts, no loads, sandboxed.
SVG_CSP: Final = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
#: JSON and everything else.
API_CSP: Final = "default-src 'none'; frame-ancestors 'none'; sandbox"


def security_headers(csp: str = API_CSP) -> dict[str, str]:
    """Headers every response carries (``csp`` chosen by the kind of content)."""
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cross-Origin-Resource-Policy": "same-origin",
    }


# --- names ----------------------------------------------------------------------------------


def display_name(filename: str | None, fallback: str = "upload") -> str:
    """A client's file name made safe for messages and archive entries (never for paths).

    Keeps the last path component, letters, digits and ``._- ``; at most 80 characters.

    >>> display_name("../../etc/passwd")
    'passwd'
    >>> display_name("C:\\\\Users\\\\me\\\\logo (1).png")
    'logo _1_.png'
    """
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFKC", name)
    name = re.sub(r"[^\w.\- ]", "_", name, flags=re.ASCII).strip(" .")
    return name[:80] or fallback
