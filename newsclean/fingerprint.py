"""What cached results and written outputs are a function of: settings and code, as digests.

- `settings_fingerprint`: the cleaning results the run state caches (cleaned documents, their
  signatures and line keys) are valid only for the settings and the code that made them.
- `outputs_key`: the outputs depend, beyond those results, on grouping, corpus-learned lines and
  the writers; any change to that code, or to a setting that is not about execution, means the
  outputs must be made again even when no input changed.

Source files are found inside the installed package (`newsclean/`, whose `cleaners`, `dedup`
and `flows` are the project's top-level folders), so the digests cover the same code in an
editable and in a regular install.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from newsclean.settings import Settings

PACKAGE_ROOT = Path(__file__).resolve().parent

# The code whose output the run state caches, relative to the package.
CLEANING_SOURCES = (
    "cleaners/*.py",
    "decode.py",
    "sources.py",
    "walk.py",  # the names documents are reported by (display_path)
    "records.py",
    "stages/clean.py",
    "dedup/features.py",
    "dedup/minhash.py",
    "dedup/signing.py",
    "dedup/terms.py",  # a story's features as ids (its weighting, in event_space.py, is not cached)
    "corpus.py",  # the line keys stored with each document
)
# The code the outputs depend on: all of the library (not the flows, which only orchestrate).
OUTPUT_SOURCES = ("cleaners/*.py", "dedup/*.py", "*.py", "stages/*.py")
# The dedup settings a signature depends on; thresholds only matter to grouping, which reruns.
_SIGNING_SETTINGS = {"seed", "near_num_perm", "near_shingle_words", "event_num_perm", "event_terms_per_doc"}
# Settings about how a run executes, not what it produces: changing them keeps the outputs.
_EXECUTION_SETTINGS: dict[str, Any] = {"run": True, "dedup": {"threads", "large_block_bytes"}}


def source_files(patterns: Sequence[str], root: Path = PACKAGE_ROOT) -> list[Path]:
    """The package's source files matching `patterns` (relative to the package), in a fixed order.
    Symlinked folders (`cleaners`, `dedup`) are followed: `Path.glob` enters them."""
    return [source for pattern in patterns for source in sorted(root.glob(pattern))]


def settings_fingerprint(settings: Settings, root: Path = PACKAGE_ROOT) -> str:
    """Digest of the decode and cleaning settings, the signing settings and the cleaning code."""
    digest = hashlib.sha256()
    digest.update(settings.decode.model_dump_json().encode())
    digest.update(settings.cleaning.model_dump_json().encode())
    digest.update(json.dumps(settings.dedup.model_dump(include=_SIGNING_SETTINGS), sort_keys=True).encode())
    _digest_sources(digest, CLEANING_SOURCES, root)
    return digest.hexdigest()


def outputs_key(fingerprint: str, settings: Settings, debug_removals: bool, root: Path = PACKAGE_ROOT) -> str:
    """Digest of what the outputs are a function of besides the stored results: every setting
    but the execution ones, the debug switch and the library's code."""
    digest = hashlib.sha256(fingerprint.encode())
    digest.update(settings.model_dump_json(exclude=_EXECUTION_SETTINGS).encode())
    digest.update(b"debug-removals" if debug_removals else b"-")
    _digest_sources(digest, OUTPUT_SOURCES, root)
    return digest.hexdigest()


def _digest_sources(digest: Any, patterns: Sequence[str], root: Path) -> None:
    for source in source_files(patterns, root):
        digest.update(source.relative_to(root).as_posix().encode())
        digest.update(source.read_bytes())
