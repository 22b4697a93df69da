"""``make repro``: two synths of one commit must give the same Lambda assets.

Two levels, both checked:

* every asset (ours and CDK's own, e.g. the custom-resource Provider framework's code) must
  give the same deployment zip: the CDK CLI zips an asset with a fixed date, so the zip is
  decided by the relative paths, file modes and bytes;
* the assets our bundler builds (the Python functions' assets, found from the templates)
  must be byte-identical on disk as well, mtimes included.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools.check_bundle import function_assets  # noqa: E402


def tree_digest(root: Path, *, mtimes: bool = True) -> str:
    """SHA-256 over relative paths, types, modes, file bytes and (``mtimes``) modification times."""
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            path = Path(dirpath) / name
            stat = path.lstat()
            when = int(stat.st_mtime) if mtimes else 0
            digest.update(f"{path.relative_to(root).as_posix()}\0{stat.st_mode:o}\0{when}\0".encode())
            if path.is_symlink():
                digest.update(os.readlink(path).encode())
            elif path.is_file():
                digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def asset_digests(out: Path) -> dict[str, tuple[str, str | None]]:
    """``asset.<hash>`` -> (zip-deciding digest, full digest for the assets we bundle, else None)."""
    ours = {path.name for path in function_assets(out)}
    return {
        path.name: (tree_digest(path, mtimes=False), tree_digest(path) if path.name in ours else None)
        for path in sorted(out.glob("asset.*"))
        if path.is_dir()
    }


def main(argv: list[str]) -> int:
    """``tree_digest.py A B``: compare the assets of two cdk.out directories; 0 when identical."""
    first, second = (asset_digests(Path(arg)) for arg in argv[:2])
    if not first:
        print(f"repro: no asset in {argv[0]}", file=sys.stderr)
        return 1
    if first != second:
        for name in sorted(set(first) | set(second)):
            if first.get(name) != second.get(name):
                print(f"repro: {name} differs ({first.get(name)} vs {second.get(name)})", file=sys.stderr)
        return 1
    bundled = sum(1 for _, full in first.values() if full is not None)
    print(f"repro OK: {len(first)} asset(s) give identical deployment zips (paths, modes, bytes); the {bundled} "
          f"we bundle are byte-identical on disk, mtimes included")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
