"""Where the tool may write: one policy for every file and folder it writes.

Exports (JSONL, CSV, spaCy, BRAT), merges, splits and backups all plan their
output here, from the command line and the window alike:

- a target that is the project being read, an input of the run, SQLite's -wal,
  -shm or -journal file of one, or an existing StanceLabel project is refused,
  unless the command exists to replace a project (``merge --force``);
- ``-`` is standard output (JSONL and CSV); a FIFO or character device is
  written straight through; a symlink's target is replaced and the link kept;
  anything else that is not a regular file (a socket, a block device, a folder
  where a file is wanted) is refused;
- everything else is written beside the target under a temporary name, synced
  and renamed over it, so the target is whole or as it was; -wal, -shm and
  -journal files left beside it, which SQLite would take into the new file,
  are removed just before the rename (refused when the target is a project
  that may be open);
- a folder is replaced only when it holds nothing but regular files of the
  kinds the writer puts there, and swapped in with one atomic exchange where the
  system has one;
- new files and folders follow the umask; a replaced file keeps its permissions;
- names made from ids and annotator names are kept under the file system's
  limit by shortening them with a hash.

Every refusal is one line naming the path; nothing has been written by then.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import io
import os
import shutil
import stat
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import IO

from stancelabel.core.errors import ProjectFileError, StanceLabelError
from stancelabel.core.filenames import name_max
from stancelabel.core.inputs import kind_of
from stancelabel.core.projectfile import COMPANION_SUFFIXES, companions, is_project_file, is_sqlite_file
from stancelabel.core.tempfiles import partial_prefix, sweep_partials

STDOUT = "-"
#: The longest file name (in bytes) assumed where the file system does not say.
DEFAULT_NAME_MAX = 255


class Kind(Enum):
    """What an output is: a file of records, a folder of files, or a project (an SQLite file)."""

    FILE = "file"
    FOLDER = "folder"
    PROJECT = "project"


class OutputError(StanceLabelError):
    """An output the policy refuses; its text names the path and says why, in one line."""


# -- the process's umask -------------------------------------------------------------------------

_umask_lock = threading.Lock()


def current_umask() -> int:
    """The process's umask, read without changing it where the system allows (Linux: /proc)."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _umask_lock:  # set and reset: the only portable way to read it
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def new_file_mode() -> int:
    return 0o666 & ~current_umask()


def new_folder_mode() -> int:
    return 0o777 & ~current_umask()


# -- planning --------------------------------------------------------------------------------------

def _identity(path: Path) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except (OSError, ValueError):
        return None
    return status.st_dev, status.st_ino


@dataclass
class Output:
    """A planned output: where it lands and how it is written. Make one with ``plan_output``."""

    #: as the user named it, for messages
    named: str
    kind: Kind
    #: where the result lands (a symlink's target); None for standard output
    path: Path | None
    #: None: written beside and renamed; "stdout", "descriptor", "fifo" or "device": written straight through
    stream: str | None = None
    #: the open descriptor written to, for "stdout" and "descriptor"
    descriptor: int | None = None
    #: permission bits of a regular file or folder written
    mode: int = 0o644
    #: the file or folder it replaces is there now
    replaces: bool = False
    #: allowed names in a folder output (exact names) and suffixes
    folder_names: frozenset[str] = field(default_factory=frozenset)
    folder_suffixes: frozenset[str] = field(default_factory=frozenset)
    #: the file an earlier export of this kind leaves in its folder; a folder without it is not replaced
    folder_mark: str | None = None

    @property
    def folder(self) -> Path:
        assert self.path is not None
        return self.path.parent

    def fail(self, reason: str) -> OutputError:
        return OutputError(f"{self.named}: {reason}")

    # -- files ---------------------------------------------------------------------------------

    @contextlib.contextmanager
    def open(self, binary: bool = True, newline: str | None = "") -> Iterator[IO]:
        """The output as a file: a temporary file renamed over the target when the block ends without
        an error, or the stream itself. Errors of the file system become one line naming the target."""
        if self.stream is not None:
            with self._open_stream(binary, newline) as out:
                yield out
            return
        with self.building() as temporary:
            try:
                handle = open(temporary, "wb" if binary else "w", **({} if binary else
                                                                        {"encoding": "utf-8", "newline": newline}))
            except OSError as error:
                raise self.explain(error) from None
            with handle:
                yield handle
                handle.flush()
                os.fsync(handle.fileno())

    @contextlib.contextmanager
    def _open_stream(self, binary: bool, newline: str | None) -> Iterator[IO]:
        if self.stream == "descriptor":
            assert self.descriptor is not None
            with os.fdopen(os.dup(self.descriptor), "wb" if binary else "w", **({} if binary else
                           {"encoding": "utf-8", "newline": newline})) as handle:
                yield handle
            return
        if self.stream == "stdout":
            raw: IO[bytes] = sys.stdout.buffer
            sys.stdout.flush()
            if binary:
                yield raw
                raw.flush()
            else:
                text = io.TextIOWrapper(raw, encoding="utf-8", newline=newline)
                try:
                    yield text
                    text.flush()
                finally:
                    text.detach()  # standard output stays open
            return
        assert self.path is not None
        try:
            handle = open(self.path, "wb" if binary else "w", **({} if binary else
                                                                  {"encoding": "utf-8", "newline": newline}))
        except OSError as error:
            raise self.explain(error) from None
        with handle:
            yield handle

    @contextlib.contextmanager
    def building(self) -> Iterator[Path]:
        """A temporary path beside the target to build the output in (a file, or an SQLite project the
        caller creates and closes); renamed over the target when the block ends without an error."""
        if self.stream is not None:
            raise self.fail(f"cannot write a {self.kind.value} to {self.stream_name()}; name a regular file")
        assert self.path is not None
        try:
            sweep_partials(self.path)
            handle, name = tempfile.mkstemp(prefix=partial_prefix(self.path), suffix=".partial", dir=self.folder)
            os.close(handle)
            os.chmod(name, self.mode)
        except OSError as error:
            raise self.explain(error) from None
        temporary = Path(name)
        if self.kind is Kind.PROJECT:
            temporary.unlink()  # a project is created by SQLite, exclusively, at this name
        try:
            yield temporary
            os.chmod(temporary, self.mode)  # SQLite and VACUUM INTO create with their own
            with open(temporary, "rb") as built:
                os.fsync(built.fileno())
            self._clear_companions()
            os.replace(temporary, self.path)
            sync_folder(self.folder)
        except BaseException as error:
            _remove_with_companions(temporary)
            if isinstance(error, OSError):
                raise self.explain(error) from None
            if isinstance(error, ProjectFileError) and Path(error.path) == temporary:
                # SQLite's report on the file being built (the disk is full): the user never named that file
                raise self.unwritten(error.message) from None
            raise

    # -- folders -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def staging_folder(self) -> Iterator[Path]:
        """A new folder beside the target to write into; swapped in for the target when the block ends
        without an error (an earlier folder there is removed, with only the files checked at planning)."""
        assert self.kind is Kind.FOLDER and self.path is not None
        try:
            sweep_partials(self.path)
            staging = Path(tempfile.mkdtemp(prefix=partial_prefix(self.path), suffix=".partial", dir=self.folder))
            os.chmod(staging, self.mode)
        except OSError as error:
            raise self.explain(error) from None
        try:
            yield staging
            sync_folder(staging)
            self._check_folder()  # again: the folder may have changed while the export ran
            self._clear_companions()
            if self.path.exists():
                old = _exchange(staging, self.path)
                sync_folder(self.folder)
                if old is not None:
                    shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(staging, self.path)
                sync_folder(self.folder)
        except OSError as error:
            raise self.explain(error) from None
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)

    def _check_folder(self) -> None:
        assert self.path is not None
        try:
            entries = sorted(os.scandir(self.path), key=lambda e: e.name)
        except FileNotFoundError:
            return
        except OSError as error:
            raise self.explain(error) from None
        for entry in entries:
            try:
                regular = entry.is_file(follow_symlinks=False)
            except OSError:
                regular = False
            known = entry.name in self.folder_names or Path(entry.name).suffix.lower() in self.folder_suffixes
            if not regular:
                try:
                    what = ("a symbolic link" if entry.is_symlink()
                            else kind_of(entry.stat(follow_symlinks=False).st_mode))
                except OSError:
                    what = "not a regular file"
                raise self.fail(f"holds {entry.name!r} ({what}), which this export does not write; choose an "
                                "empty or new folder (nothing was changed)")
            if not known or is_project_file(Path(entry.path)):
                raise self.fail(f"holds {entry.name!r}, which this export does not write; choose an empty or new "
                                "folder (nothing was changed)")
        if entries and self.folder_mark and not any(e.name == self.folder_mark for e in entries):
            # .txt and .ann files of someone's own corpus look like an export: only one of ours is replaced.
            raise self.fail(f"holds {entries[0].name!r} but no {self.folder_mark}, so it is not an earlier export "
                            "of StanceLabel; choose an empty or new folder (nothing was changed)")

    # -- shared ----------------------------------------------------------------------------------

    def _clear_companions(self) -> None:
        """Remove -wal, -shm and -journal files beside the target, just before the rename."""
        assert self.path is not None
        for companion in companions(self.path):
            try:
                status = os.lstat(companion)
            except OSError as error:
                if _cannot_exist(error):
                    continue
                raise
            if stat.S_ISDIR(status.st_mode):
                raise self.fail(f"{companion.name!r} beside it is a folder; SQLite would take it for the "
                                "output's own file; move it away (nothing was changed)")
            companion.unlink(missing_ok=True)

    def stream_name(self) -> str:
        return "standard output" if self.stream == "stdout" else f"{self.stream} {self.named}"

    def explain(self, error: OSError) -> OutputError:
        """A file system error while writing, as one line naming the target."""
        if error.errno == errno.ENOSPC:
            reason = "the disk is full"
        elif error.errno == errno.ENAMETOOLONG:
            reason = "the name is too long for this file system"
        else:
            reason = (error.strerror or str(error)).lower()
        return self.unwritten(reason)

    def unwritten(self, reason: str) -> OutputError:
        """Writing failed for ``reason``: one line naming the target and saying what became of it."""
        what = {Kind.FILE: "file", Kind.FOLDER: "folder", Kind.PROJECT: "project file"}[self.kind]
        if self.replaces and self.stream is None:
            after = f"the earlier {what} there is unchanged"
        else:
            after = "nothing was written" if self.stream is None else "the output may be incomplete"
        return self.fail(f"cannot write the {what}: {reason}; {after}")


def _remove_with_companions(path: Path) -> None:
    for leftover in (path, *companions(path)):
        with contextlib.suppress(OSError):
            leftover.unlink()


def sync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (where the system can sync a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


_RENAME_EXCHANGE = 2


def _renameat2() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        function = libc.renameat2
    except (OSError, AttributeError):
        return None
    function.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint)
    function.restype = ctypes.c_int
    return function


def _exchange(staging: Path, target: Path) -> Path | None:
    """Put ``staging`` at ``target``; returns where the old target now is, to be removed.

    One atomic exchange where the system has it (Linux's renameat2), so the
    target is never missing; elsewhere two renames.
    """
    renameat2 = _renameat2()
    if renameat2 is not None:
        at_cwd = -100  # AT_FDCWD
        if renameat2(at_cwd, os.fsencode(staging), at_cwd, os.fsencode(target), _RENAME_EXCHANGE) == 0:
            return staging
        if ctypes.get_errno() not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()), str(target))
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    os.replace(target, old)
    os.replace(staging, target)
    return old


def plan_output(named: str | os.PathLike[str], kind: Kind, *, reading: Sequence[Path] = (),
                reading_role: str = "one of the files this run reads", replace: bool = True,
                replace_project: bool = False, streams: bool = False,
                folder_names: Iterable[str] = (), folder_suffixes: Iterable[str] = (),
                folder_mark: str | None = None, force: str | None = None) -> Output:
    """Check a target before anything is written, and say how to write it.

    ``reading``: the project and inputs the run reads (never written over), and ``reading_role``
    what they are, for the message ("the project being exported").
    ``replace``: an existing output of the same kind may be replaced (else it is refused).
    ``replace_project``: an existing StanceLabel project may be replaced (merge --force).
    ``streams``: ``-`` (standard output), FIFOs and character devices are written straight through.
    ``folder_names``/``folder_suffixes``: what a folder output may already hold to be replaced;
    ``folder_mark``: the file that shows a non-empty folder is an earlier export of this kind.
    ``force``: the caller's option that replaces an existing project ("--force"), named in the refusal;
    None where there is none.
    """
    text = os.fspath(named)
    if not text:
        raise OutputError("no output named (an empty path); give a file or folder to write")
    descriptor = 1 if text == STDOUT else descriptor_of(text)
    if descriptor is not None:  # -, /dev/stdout, /dev/fd/N: the file the shell opened, written where it stands
        if not streams or kind is not Kind.FILE:
            raise OutputError(f"{text}: a {kind.value} cannot be written to standard output or an open "
                              f"descriptor; name a {'folder' if kind is Kind.FOLDER else 'file'}")
        output = Output(named=text, kind=kind, path=None, stream="stdout" if descriptor == 1 else "descriptor",
                        descriptor=descriptor)
        try:
            status = os.fstat(descriptor)
        except OSError as error:
            raise output.fail(f"cannot use this descriptor ({error.strerror})") from None
        if any(_identity(x) == (status.st_dev, status.st_ino) for x in reading):
            raise output.fail(f"is {reading_role} (the shell sent the output there); write to another file "
                              "(nothing was written)")
        return output
    output = Output(named=text, kind=kind, path=None, folder_names=frozenset(folder_names),
                    folder_suffixes=frozenset(s.lower() for s in folder_suffixes), folder_mark=folder_mark)
    if kind is not Kind.FOLDER and text.endswith(("/", os.sep)):
        raise output.fail("ends with a slash, which names a folder; give a file name")
    try:
        # Every link resolved as the kernel would (a/link/../b is not a/b), the last one too: a symlink's
        # target is replaced, the link kept.
        target = Path(os.path.realpath(text, strict=False))
    except (OSError, RuntimeError, ValueError) as error:
        raise output.fail(f"cannot use this path ({getattr(error, 'strerror', None) or error})") from None
    if not target.name:
        raise output.fail("is the root folder; name a file or folder below it")
    output.path = target
    try:
        status: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        status = None
    except (OSError, ValueError) as error:
        raise output.fail(f"cannot use this path ({getattr(error, 'strerror', None) or error})") from None
    folder = target.parent
    if status is None:
        _check_new(output, target, folder)
    else:
        _check_existing(output, target, status, reading, reading_role, replace, replace_project, streams, force)
    if output.stream is None:
        _check_companions(output, target, reading)
        _check_not_companion(output, target, reading)
        if kind is Kind.FOLDER:
            if target == Path(os.getcwd()) or Path(os.getcwd()).is_relative_to(target):
                raise output.fail("is the current folder (or holds it); export into a folder of its own")
            output._check_folder()
        output.mode = (stat.S_IMODE(status.st_mode) if status is not None and output.replaces
                       else new_folder_mode() if kind is Kind.FOLDER else new_file_mode())
    return output


_DESCRIPTOR_PATHS = {"/dev/stdout": 1, "/dev/stderr": 2}


def descriptor_of(text: str) -> int | None:
    """The open descriptor a path like /dev/stdout, /dev/fd/3 or /proc/self/fd/3 names, else None.

    Opening such a path again would start the file over (or, through /proc, fail for a pipe); the
    descriptor the shell gave is written where it stands instead, so ``>>`` appends as it promised.
    """
    if text in _DESCRIPTOR_PATHS:
        return _DESCRIPTOR_PATHS[text]
    for prefix in ("/dev/fd/", "/proc/self/fd/", f"/proc/{os.getpid()}/fd/"):
        if text.startswith(prefix) and text[len(prefix):].isdigit():
            return int(text[len(prefix):])
    return None


def _check_new(output: Output, target: Path, folder: Path) -> None:
    try:
        folder_status = os.stat(folder)
    except FileNotFoundError:
        raise output.fail(f"the folder {str(folder)!r} does not exist; create it first") from None
    except OSError as error:
        raise output.fail(f"cannot use the folder {str(folder)!r} ({error.strerror})") from None
    if not stat.S_ISDIR(folder_status.st_mode):
        raise output.fail(f"{str(folder)!r} is not a folder")
    limit = name_max(folder)
    # A project needs room for SQLite's companions beside it (NAME-journal).
    room = limit - (len("-journal") if output.kind is Kind.PROJECT else 0)
    if len(os.fsencode(target.name)) > room:
        raise output.fail(f"the name is too long for this file system ({len(os.fsencode(target.name))} bytes; "
                          f"the limit is {room})")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise output.fail(f"cannot write in the folder {str(folder)!r} (permission denied)")


def _check_existing(output: Output, target: Path, status: os.stat_result, reading: Sequence[Path],
                    reading_role: str, replace: bool, replace_project: bool, streams: bool,
                    force: str | None = None) -> None:
    mode = status.st_mode
    kind = output.kind
    if stat.S_ISFIFO(mode) or stat.S_ISCHR(mode):
        if streams and kind is Kind.FILE:
            output.stream = "fifo" if stat.S_ISFIFO(mode) else "device"
            return
        raise output.fail(f"is {kind_of(mode)}; a {kind.value} must be written to a regular "
                          f"{'folder' if kind is Kind.FOLDER else 'file'}")
    if stat.S_ISDIR(mode):
        if kind is not Kind.FOLDER:
            raise output.fail("is a folder; give a file name")
        if not replace:
            raise output.fail("already exists; choose a new folder (nothing was written)")
        output.replaces = True
        return
    if not stat.S_ISREG(mode):
        raise output.fail(f"is {kind_of(mode)}; only a regular file can be written here")
    if kind is Kind.FOLDER:
        raise output.fail("is a file; this export writes a folder")
    for source in reading:
        if _identity(source) == (status.st_dev, status.st_ino):
            raise output.fail(f"is {reading_role}; write to another file (nothing was written)")
    if is_project_file(target):
        if kind is Kind.PROJECT and not replace_project:
            hint = f", or {force} to replace it" if force else ""
            raise output.fail(f"already exists (a StanceLabel project); choose a new name{hint} (nothing was "
                              "written)")
        if kind is not Kind.PROJECT:
            raise output.fail("is a StanceLabel project; writing here would destroy it; choose another name "
                              "(nothing was written)")
    elif not replace:
        hint = f" (or {force} to replace it)" if kind is Kind.PROJECT and force else ""
        raise output.fail(f"already exists; choose a new name{hint} (nothing was written)")
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise output.fail(f"cannot write in the folder {str(target.parent)!r} (permission denied)")
    output.replaces = True


def _check_companions(output: Output, target: Path, reading: Sequence[Path]) -> None:
    """-wal/-shm/-journal beside the target: strays to remove at the rename, unless the target is a project
    that may be open (refused) or one is a folder (refused)."""
    for companion in companions(target):
        try:
            status = os.lstat(companion)
        except OSError as error:
            if _cannot_exist(error):
                continue
            raise output.fail(f"cannot check {companion.name!r} beside it ({error.strerror})") from None
        if stat.S_ISDIR(status.st_mode):
            raise output.fail(f"{companion.name!r} beside it is a folder; SQLite would take it for the output's "
                              "own file; move it away (nothing was written)")
        if is_sqlite_file(companion) or any(_identity(companion) == _identity(x) and _identity(x) for x in reading):
            # Not a stray: a whole database (a project, perhaps this run's own input) under that name.
            raise output.fail(f"{companion.name!r} beside it is a database, not a file SQLite left; SQLite would "
                              "take it for the output's own file; move it away or choose another name "
                              "(nothing was written)")
        if output.replaces and output.kind is Kind.PROJECT and companion.name.endswith(("-wal", "-shm")):
            raise output.fail(f"is open in StanceLabel or another program ({companion.name} is beside it); close "
                              "it, or write to a new file")


def _cannot_exist(error: OSError) -> bool:
    """A companion name that is not there, or that is too long to be there: a file or folder whose own name
    is close to the file system's limit (a record file need not leave room for SQLite's -journal)."""
    return error.errno in (errno.ENOENT, errno.ENAMETOOLONG)


def check_not_companion(path: Path, reading: Sequence[Path] = ()) -> None:
    """Refuse SQLite's -wal, -shm or -journal name of a project (or of a file this run reads) as a new file
    or folder: SQLite would take it for that project's own file."""
    _check_not_companion(Output(named=str(path), kind=Kind.FOLDER, path=Path(path)), Path(path), reading)


def _check_not_companion(output: Output, target: Path, reading: Sequence[Path]) -> None:
    """Refuse SQLite's -wal, -shm or -journal file of a project (or of a file this run reads) as a target."""
    for suffix in COMPANION_SUFFIXES:
        if target.name.endswith(suffix) and len(target.name) > len(suffix):
            base = target.with_name(target.name[: -len(suffix)])
            if is_project_file(base) or any(_identity(base) == _identity(x) and _identity(x) for x in reading):
                raise output.fail(f"is SQLite's {suffix[1:]} file of {base.name}; writing here would damage that "
                                  "project (nothing was written)")
