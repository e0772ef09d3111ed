"""What an uploaded file is, judged from its bytes, never from the client's
claim (its Content-Type or its name's extension); images measured and
thumbnailed.

The allow-list is small enough for a table of our own rather than a
detection library: the four image formats are told by their signatures and
then decoded by Pillow (which must agree); PDF by `%PDF-`; office documents
are zip containers, told by the part only their format has
(`word/document.xml`, `xl/workbook.xml`, `ppt/presentation.xml`, or an
OpenDocument `mimetype` entry), macro-enabled ones refused; plain text is
UTF-8 without control characters. Anything else is 415.
"""
from __future__ import annotations

import codecs
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from typing import BinaryIO

from PIL import Image

from api.inputs import TEXT_RULE
from shared.errors import Invalid, UnsupportedType

# Pillow decodes the whole bitmap: 50 megapixels is 200 MB as RGBA, the most one upload may cost.
MAX_PIXELS = 50_000_000
THUMBNAIL_SIZE = (320, 320)
THUMBNAIL_TYPE = "image/webp"  # one format for photos and for images with transparency
MAX_NAME_CHARS = 255
MAX_ZIP_ENTRIES = 10_000
# EXIF orientation -> the turn that shows the pixels upright (what ImageOps.exif_transpose does).
ORIENTATIONS = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
                5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
                8: Image.Transpose.ROTATE_90}

IMAGE_SIGNATURES = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"),
                    (b"GIF87a", "image/gif"), (b"GIF89a", "image/gif"))
PILLOW_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP"}
OOXML_PARTS = {
    "word/document.xml": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xl/workbook.xml": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt/presentation.xml": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
OPENDOCUMENT_TYPES = frozenset({
    "application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
})
EXTENSIONS = {
    "image/jpeg": (".jpg", ".jpeg"), "image/png": (".png",), "image/gif": (".gif",), "image/webp": (".webp",),
    "application/pdf": (".pdf",), "text/plain": (".txt", ".text", ".log", ".csv", ".md"),
    OOXML_PARTS["word/document.xml"]: (".docx",), OOXML_PARTS["xl/workbook.xml"]: (".xlsx",),
    OOXML_PARTS["ppt/presentation.xml"]: (".pptx",), "application/vnd.oasis.opendocument.text": (".odt",),
    "application/vnd.oasis.opendocument.spreadsheet": (".ods",),
    "application/vnd.oasis.opendocument.presentation": (".odp",),
}
# Text that shows differently from what it is: bidirectional overrides and isolates
# ("gpj.exe" shown as "exe.jpg"), zero-width characters.
DECEPTIVE = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
# Text files: C0 controls but tab, newline, form feed and carriage return; DEL.
TEXT_CONTROLS = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")


@dataclass
class Checked:
    content_type: str
    name: str  # the name, with the extension of its real type
    width: int | None = None
    height: int | None = None
    thumbnail: BinaryIO | None = None


def _name_refused(reason: str) -> Invalid:
    return Invalid(f"the file name {reason}", code="file_name_invalid", details={"file": [f"name {reason}"]})


def file_name(raw: str | None) -> str:
    """The client's file name, refused when it tries to be a path or hides what it says."""
    name = unicodedata.normalize("NFC", (raw or "").strip())
    if not name:
        raise _name_refused("is missing")
    if "/" in name or "\\" in name or name in (".", ".."):
        raise _name_refused("must not be a path")
    if TEXT_RULE.search(name) or DECEPTIVE.search(name):
        raise _name_refused("contains control, direction-changing or invisible characters")
    if len(name) > MAX_NAME_CHARS:
        raise _name_refused(f"is longer than {MAX_NAME_CHARS} characters")
    return name


def _with_extension(name: str, content_type: str) -> str:
    """A name whose extension says what the file is: `page.html` holding text becomes `page.html.txt`."""
    extensions = EXTENSIONS[content_type]
    if name.lower().endswith(extensions):
        return name
    return name[:MAX_NAME_CHARS - len(extensions[0])] + extensions[0]


def _office_type(upload: BinaryIO) -> str | None:
    try:
        with zipfile.ZipFile(upload) as archive:
            entries = archive.infolist()
            if len(entries) > MAX_ZIP_ENTRIES:
                return None
            names = {entry.filename for entry in entries}
            if any(n.lower().endswith("vbaproject.bin") or n.startswith("Basic/") for n in names):
                return None  # macros: a document that runs code is not a document we pass on
            if "[Content_Types].xml" in names:
                return next((kind for part, kind in OOXML_PARTS.items() if part in names), None)
            if "mimetype" in names:
                with archive.open("mimetype") as entry:
                    declared = entry.read(100).decode("ascii", "replace").strip()
                return declared if declared in OPENDOCUMENT_TYPES else None
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError):
        return None  # RuntimeError: encrypted; NotImplementedError: an unknown compression
    return None


def _is_text(upload: BinaryIO) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    upload.seek(0)
    try:
        while chunk := upload.read(64 * 1024):
            if TEXT_CONTROLS.search(decoder.decode(chunk)):
                return False
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def sniff(upload: BinaryIO) -> str | None:
    """The type of the file by its content, if it is one we know."""
    upload.seek(0)
    head = upload.read(16)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    for signature, kind in IMAGE_SIGNATURES:
        if head.startswith(signature):
            return kind
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"PK\x03\x04"):
        upload.seek(0)
        return _office_type(upload)
    return "text/plain" if _is_text(upload) else None


def _image_refused(code: str, message: str) -> Invalid:
    return Invalid(message, code=code, details={"file": [message]})


def _thumbnail(upload: BinaryIO, content_type: str) -> tuple[int, int, BinaryIO]:
    """The image's displayed width and height, and a WebP thumbnail of it with no
    metadata (re-encoded from pixels: EXIF, GPS and comments stay behind)."""
    upload.seek(0)
    try:
        with Image.open(upload, formats=[PILLOW_FORMATS[content_type]]) as image:
            if image.width * image.height > MAX_PIXELS:
                raise _image_refused("image_too_large", f"the image has more than {MAX_PIXELS} pixels")
            image.draft("RGB", (THUMBNAIL_SIZE[0] * 2, THUMBNAIL_SIZE[1] * 2))  # JPEG decodes scaled down
            orientation = image.getexif().get(0x0112, 1)
            width, height = (image.height, image.width) if orientation in (5, 6, 7, 8) else image.size
            image.load()  # a truncated or corrupt file fails here, not later
            thumb = image.convert("RGBA" if image.has_transparency_data else "RGB")
            thumb.thumbnail(THUMBNAIL_SIZE)
            if orientation in ORIENTATIONS:
                thumb = thumb.transpose(ORIENTATIONS[orientation])
            out = io.BytesIO()
            thumb.save(out, "WEBP", quality=80, exif=b"", xmp=b"")
    except Image.DecompressionBombError:
        raise _image_refused("image_too_large", f"the image has more than {MAX_PIXELS} pixels") from None
    except (OSError, SyntaxError, ValueError, EOFError, KeyError, IndexError, TypeError, ZeroDivisionError):
        # Pillow reports a broken file through any of these, depending on the codec.
        raise _image_refused("image_unreadable", "the image cannot be decoded") from None
    out.seek(0)
    return width, height, out


def check(upload: BinaryIO, name: str, allowed: list[str]) -> Checked:
    """The upload's real type (415 if not `allowed`), and for an image its size and thumbnail (422 if broken)."""
    kind = sniff(upload)
    if kind is None or kind not in allowed:
        raise UnsupportedType(
            "this type of file is not accepted" if kind is None else f"{kind} files are not accepted here",
            code="unsupported_type", details={"allowed": list(allowed)},
        )
    checked = Checked(kind, _with_extension(name, kind))
    if kind in PILLOW_FORMATS:
        checked.width, checked.height, checked.thumbnail = _thumbnail(upload, kind)
    upload.seek(0)
    return checked
