"""State files other processes read (stack.json, controller.json, Prometheus' target files), written by rename.

A file rewritten in place is empty for a moment after its truncation: a command or a
Prometheus file discovery that reads it then sees no supervisor, or no targets. Written
to a temporary file in the same folder and renamed over the old one, a reader sees the
old content or the new, never a part; the rename is atomic on one file system (POSIX
rename(2)), and the data is synced first so that a crash leaves one of the two.
"""

import json
import os
import tempfile
from pathlib import Path


def write_json(path: Path, doc: object, mode: int = 0o600) -> None:
    """Replace ``path`` with ``doc`` as JSON, readable by this user only unless ``mode`` says otherwise."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")  # created 0600: a token is never exposed
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(doc, f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
