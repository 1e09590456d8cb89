"""Reading a source repository the way the user has it: a bare git directory (the project's snapshots
under /work/.mirror), a `.git` folder without a work tree, or an ordinary checkout / unpacked folder.

Git directories are read with one `git cat-file --batch` process per source (a process per blob would
cost more than decoding the image). Blobs that a partial snapshot lacks come back as None, so the
caller records them as missing instead of crashing.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path


def _is_git_dir(p: Path) -> bool:
    return (p / "HEAD").is_file() and (p / "objects").is_dir()


def _git(git_dir: Path, *args: str) -> str:
    r = subprocess.run(["git", f"--git-dir={git_dir}", *args], capture_output=True, check=False)
    if r.returncode != 0:
        raise OSError(f"git {' '.join(args)} in {git_dir}: {r.stderr.decode(errors='replace').strip()}")
    return r.stdout.decode("utf-8", errors="surrogateescape")


class Tree:
    """Files of one source at one commit: `paths` (sorted, '/'-separated) and `read_many`."""

    kind = "?"
    commit: str | None = None
    location: Path

    @property
    def paths(self) -> list[str]:
        raise NotImplementedError

    def read(self, path: str) -> bytes | None:
        return next(iter(self.read_many([path])))[1]

    def read_many(self, paths: Iterable[str]) -> Iterator[tuple[str, bytes | None]]:
        raise NotImplementedError

    def close(self) -> None:
        pass


class GitTree(Tree):
    def __init__(self, git_dir: Path, kind: str, rev: str | None = None):
        self.location, self.kind = git_dir, kind
        self.commit = _git(git_dir, "rev-parse", "--verify", f"{rev or 'HEAD'}^{{commit}}").strip()
        self._blobs: dict[str, str] = {}
        out = _git(git_dir, "ls-tree", "-r", "-z", "--full-tree", self.commit)
        for entry in out.split("\0"):
            if not entry:
                continue
            meta, path = entry.split("\t", 1)
            mode, typ, sha = meta.split()
            if typ == "blob" and mode != "120000":  # symlinks are not images
                self._blobs[path] = sha
        self._proc: subprocess.Popen | None = None

    @property
    def paths(self) -> list[str]:
        return sorted(self._blobs)

    def blob_id(self, path: str) -> str | None:
        return self._blobs.get(path)

    def absent_count(self) -> int:
        """How many blobs of the commit the snapshot lacks (needed or not)."""
        shas = "".join(f"{s}\n" for s in self._blobs.values()).encode()
        r = subprocess.run(
            ["git", f"--git-dir={self.location}", "cat-file", "--batch-check"],
            input=shas,
            capture_output=True,
            check=False,
        )
        return r.stdout.count(b" missing\n")

    def _batch(self) -> subprocess.Popen:
        if self._proc is None:
            self._proc = subprocess.Popen(
                ["git", f"--git-dir={self.location}", "cat-file", "--batch"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
        return self._proc

    def read_many(self, paths):
        proc = self._batch()
        for path in paths:
            sha = self._blobs.get(path)
            if sha is None:
                yield path, None
                continue
            # one request at a time: the answer is read before the next is written, so no pipe fills up
            proc.stdin.write(sha.encode() + b"\n")
            proc.stdin.flush()
            header = proc.stdout.readline().decode().split()
            if len(header) < 2 or header[1] == "missing":
                yield path, None
                continue
            size = int(header[2])
            data = proc.stdout.read(size)
            proc.stdout.read(1)  # the newline after the content
            yield path, data

    def close(self):
        if self._proc is not None:
            self._proc.stdin.close()
            self._proc.wait()
            self._proc = None


class FolderTree(Tree):
    """A checkout with a work tree (commit from its .git when there is one) or a plain folder."""

    kind = "work tree"

    def __init__(self, root: Path):
        self.location = root
        git_dir = root / ".git"
        try:
            self.commit = _git(git_dir, "rev-parse", "HEAD").strip() if git_dir.exists() else None
        except OSError:
            self.commit = None
        found = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d != ".git")
            for n in filenames:
                full = Path(dirpath) / n
                if full.is_file() and not full.is_symlink():
                    found.append(full.relative_to(root).as_posix())
        self._paths = sorted(found)

    @property
    def paths(self):
        return self._paths

    def read_many(self, paths):
        for p in paths:
            try:
                yield p, (self.location / p).read_bytes()
            except OSError:
                yield p, None


def open_tree(folder: Path, rev: str | None = None) -> Tree | None:
    """The Tree for one candidate folder, or None when it holds no repository. `rev` picks the commit of a
    git directory (an OSError when it lacks it); a work tree is read as checked out."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    if _is_git_dir(folder):
        return GitTree(folder, "bare git directory", rev)
    dot = folder / ".git"
    if dot.is_dir() and _is_git_dir(dot):
        others = [e for e in folder.iterdir() if e.name != ".git"]
        if others:
            return FolderTree(folder)
        return GitTree(dot, "git directory without work tree", rev)
    if any(folder.iterdir()):
        return FolderTree(folder)
    return None


def find_tree(clones: Path, repo: str, rev: str | None = None) -> Tree | None:
    """A source under --clones: `<owner>+<name>/repo`, `<owner>+<name>/`, `<owner>/<name>/` or `<name>/`."""
    owner, name = repo.split("/")
    for cand in (clones / f"{owner}+{name}" / "repo", clones / f"{owner}+{name}", clones / owner / name, clones / name):
        try:
            t = open_tree(cand, rev)
        except OSError:
            return None  # a snapshot without the commit asked for: not its enclosing folder read as plain files
        if t is not None:
            return t
    return None
