"""Every file of the model folder has an owner; a change to a file needs its owner.

The objects `eco.py` builds are compared one by one (`ownership.py`), so `eco.py` and
`dsg_platform_mapping.json` are judged by what they produce. Every OTHER file is judged as a
file, because some of them run in production (a transformer's code) and none of them is
harmless by default (a `__pycache__/*.pyc` next to transformer code is imported instead of
the source). Owners, deny by default:

1. a file a team's transformer references (`CodeReference.folder` / `module` as a `.py` file
   or a package folder) belongs to that team;
2. a file matched by a team's or zone's declared `files` patterns (the declaration is
   written by the declaring level, like the owning repository) belongs to that team or zone;
3. anything else, and anything claimed by two different owners, belongs to the ecosystem.

Owners come from the BASE model, like every other right; a file that does not exist in the
base falls back to the proposed model's references and declarations (a team adding a new
transformer brings its code in the same pull request), which are themselves checked as
object changes.

Refused outright, whoever proposes them: symbolic links, hard links and special files (a
symlinked `eco.py` that points into the checkout passes a check and dangles after the
merge), and a `model.json`, which is reserved for the compiled model the merge handler
deploys.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from datasurface.model.changes.owners import Owner, Owners, Proposer
from datasurface.model.changes.report import Action, ChangeProblem, ChangeReport, ObjectChange, Section
from datasurface.model.ecosystem import Ecosystem
from datasurface.model.loader import ECO_FILE, MANIFEST_FILE, MAPPING_FILE
from datasurface.model.problems import Severity, path_of

#: Judged by the objects they produce, not as files.
MODEL_FILES = frozenset({ECO_FILE, MAPPING_FILE})
#: Never part of a model repository's content (git's own data).
IGNORED_TOP = frozenset({".git"})


@dataclass(frozen=True, slots=True)
class FileEntry:
    digest: str
    problem: str = ""  # why the entry is refused (a link or a special file)


def scan(folder: Path) -> dict[str, FileEntry]:
    """Relative POSIX path -> content digest (mode included), never following links."""
    out: dict[str, FileEntry] = {}
    root = Path(folder)
    stack = [root]
    while stack:
        current = stack.pop()
        try:
            entries = sorted(os.scandir(current), key=lambda e: e.name)
        except OSError as exc:
            out[_rel(root, current) or "."] = FileEntry("", f"can't be read: {exc.strerror}")
            continue
        for entry in entries:
            rel = _rel(root, Path(entry.path))
            if current == root and entry.name in IGNORED_TOP:
                continue
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISLNK(info.st_mode):
                out[rel] = FileEntry("", f"is a symbolic link (to {os.readlink(entry.path)!r})")
            elif stat.S_ISDIR(info.st_mode):
                stack.append(Path(entry.path))
            elif not stat.S_ISREG(info.st_mode):
                out[rel] = FileEntry("", "is a special file (device, pipe or socket)")
            elif info.st_nlink > 1:
                out[rel] = FileEntry("", f"is a hard link ({info.st_nlink} names for one file)")
            else:
                out[rel] = FileEntry(_digest(Path(entry.path), info.st_mode))
    return out


def _rel(root: Path, path: Path) -> str:
    return PurePosixPath(path.relative_to(root)).as_posix() if path != root else ""


def _digest(path: Path, mode: int) -> str:
    sha = hashlib.sha256(b"x" if mode & 0o111 else b"-")
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


# -- who owns a path -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Claim:
    owner: Owner
    why: str


def _norm(folder: str) -> str:
    parts = [p for p in folder.replace("\\", "/").split("/") if p not in ("", ".")]
    return "/".join(parts)


def _transformer_claims(eco: Ecosystem, owners: Owners) -> list[tuple[str, bool, _Claim]]:
    """(path or folder prefix, is_folder, claim) for every transformer's code."""
    out: list[tuple[str, bool, _Claim]] = []
    for zone in eco.zones:
        for team in zone.teams:
            for ws in team.workspaces:
                if ws.transformer is None:
                    continue
                code = ws.transformer.code
                base = _norm(code.folder)
                module = "/".join(code.module.split("."))
                stem = f"{base}/{module}" if base else module
                claim = _Claim(
                    owners.team(zone.name, team.name),
                    f"transformer code of team '{team.name}' (workspace '{ws.name}')",
                )
                out.append((f"{stem}.py", False, claim))
                out.append((stem, True, claim))
    return out


def _declared_claims(eco: Ecosystem, owners: Owners) -> list[tuple[str, _Claim]]:
    out: list[tuple[str, _Claim]] = []
    for zdecl in eco.zone_declarations:
        for pattern in zdecl.files:
            out.append((pattern, _Claim(owners.zone(zdecl.name), f"declared files of zone '{zdecl.name}'")))
    for zone in eco.zones:
        for tdecl in zone.team_declarations:
            for pattern in tdecl.files:
                claim = _Claim(owners.team(zone.name, tdecl.name), f"declared files of team '{tdecl.name}'")
                out.append((pattern, claim))
    return out


def _matches(pattern: str, path: str) -> bool:
    pattern = pattern.strip()
    pattern = pattern[2:] if pattern.startswith("./") else pattern
    if pattern.endswith("/**"):
        return path.startswith(pattern[:-2])
    return fnmatch.fnmatchcase(path, pattern)


class FileOwners:
    def __init__(self, eco: Ecosystem, owners: Owners) -> None:
        self.transformers = _transformer_claims(eco, owners)
        self.declared = _declared_claims(eco, owners)

    def claims(self, path: str) -> list[_Claim]:
        found = [c for p, is_dir, c in self.transformers if (path.startswith(p + "/") if is_dir else path == p)]
        found += [c for pattern, c in self.declared if _matches(pattern, path)]
        return found


def _decide(claims: list[_Claim], eco_owner: Owner) -> _Claim | None:
    distinct = {(c.owner.kind, c.owner.name) for c in claims}
    if len(distinct) == 1:
        return claims[0]
    if len(distinct) > 1:
        names = " and ".join(sorted(f"{k} '{n}'" for k, n in distinct))
        return _Claim(eco_owner, f"claimed by both {names}, so it falls to the ecosystem")
    return None


# -- the check ------------------------------------------------------------------------------------


def check_files(
    base_dir: Path,
    proposed_dir: Path,
    base: Ecosystem,
    proposed: Ecosystem | None,
    proposer: Proposer,
    report: ChangeReport,
    scans: tuple[dict[str, FileEntry], dict[str, FileEntry]] | None = None,
) -> None:
    """Refuse links and special files; record every changed file and whether its owner proposes it.

    `scans`: the two folders' `scan()` taken BEFORE any model code ran (the checker does
    that: a compiler child on a writable file system could otherwise restore a file it
    changed, or hide one, before the folders are compared)."""
    before, after = scans if scans is not None else (scan(base_dir), scan(proposed_dir))
    refuse_links(after, proposer, base, report)
    owners = Owners(base, proposed or base)
    eco_owner = owners.ecosystem()
    base_files = FileOwners(base, owners)
    new_files = FileOwners(proposed, owners) if proposed is not None else None
    for rel in sorted(before.keys() | after.keys()):
        if "/" not in rel and rel in MODEL_FILES:
            continue
        old, new = before.get(rel), after.get(rel)
        if new is not None and new.problem:
            continue  # refused above
        if old is not None and new is not None and old.digest == new.digest:
            continue
        action = Action.ADDED if old is None else Action.REMOVED if new is None else Action.CHANGED
        fpath = path_of(("File", rel))
        if rel == MANIFEST_FILE and new is not None:
            _reserved(fpath, action, proposer, eco_owner, report)
            continue
        claim = _decide(base_files.claims(rel), eco_owner)
        if claim is None and old is None and new_files is not None:
            claim = _decide(new_files.claims(rel), eco_owner)
        claim = claim or _Claim(eco_owner, "a file no team or zone owns belongs to the ecosystem")
        _record(fpath, action, claim, proposer, report)


def refuse_links(entries: dict[str, FileEntry], proposer: Proposer, base: Ecosystem, report: ChangeReport) -> int:
    """Links and special files in the proposal (`scan` output); returns how many (each an error)."""
    eco = Owners(base, base).ecosystem()
    count = 0
    for rel, entry in entries.items():
        if not entry.problem:
            continue
        count += 1
        report.problems.append(
            ChangeProblem(
                Section.FILES,
                Severity.ERROR,
                "files/not-a-regular-file",
                path_of(("File", rel)),
                f"the file {entry.problem}: a model may hold only regular files and folders (a link can point "
                f"outside the model or dangle after the merge), whoever proposes it; {proposer.label()} may not "
                "merge it",
                eco.short(),
                "replace it with a regular file holding the content",
            )
        )
    return count


def _reserved(fpath: str, action: Action, proposer: Proposer, eco: Owner, report: ChangeReport) -> None:
    report.changes.append(ObjectChange(fpath, action, "file", eco.short(), False))
    report.problems.append(
        ChangeProblem(
            Section.FILES,
            Severity.ERROR,
            "files/reserved",
            fpath,
            f"{MANIFEST_FILE} {action.value} by {proposer.label()}: not allowed, the name is reserved for the compiled "
            "model the merge handler deploys; no repository may commit it",
            eco.short(),
            f"remove {MANIFEST_FILE} from the model folder",
        )
    )


def _record(fpath: str, action: Action, claim: _Claim, proposer: Proposer, report: ChangeReport) -> None:
    owner = claim.owner
    allowed = proposer.is_(owner.repo)
    report.changes.append(ObjectChange(fpath, action, "file", owner.short(), allowed))
    if allowed:
        return
    if owner.repo is None:
        rule, hint = "ownership/undeclared", f"ask {owner.declarer} to declare {owner.kind} '{owner.name}' first"
    else:
        rule, hint = "ownership/file", f"open this pull request from {owner.short()}"
    report.problems.append(
        ChangeProblem(
            Section.OWNERSHIP,
            Severity.ERROR,
            rule,
            fpath,
            f"file {action.value} by {proposer.label()}: not allowed, it is {claim.why}; "
            f"only {owner.label()} may make this change",
            owner.short(),
            hint,
        )
    )


def patterns_of(eco: Ecosystem) -> Iterable[str]:
    """Every declared file pattern (for lint)."""
    for zdecl in eco.zone_declarations:
        yield from zdecl.files
    for zone in eco.zones:
        for tdecl in zone.team_declarations:
            yield from tdecl.files
