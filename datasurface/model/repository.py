"""Where model code lives. Ownership of every model object is tied to one repository."""

from __future__ import annotations

import re
from dataclasses import dataclass

#: GitHub's rules, ASCII only: an owner is 1-39 letters, digits or hyphens, not starting with a
#: hyphen; a repository name is 1-100 letters, digits, '.', '_' or '-', and not '.' or '..'.
_OWNER = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}", re.ASCII)
_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}", re.ASCII)


def repository_name_problem(full_name: str) -> str | None:
    """Why `owner/name` is not a legal GitHub repository name, or None when it is.

    Git hosts compare these names ignoring ASCII case only; a non-ASCII letter that merely
    looks like (or case-folds to) an ASCII one, such as the Kelvin sign for 'k', is refused
    rather than compared, so no look-alike can ever match a declared repository."""
    if not full_name.isascii():
        bad = next(ch for ch in full_name if not ch.isascii())
        return f"holds the non-ASCII character {bad!r} (U+{ord(bad):04X}); repository names are ASCII"
    owner, slash, name = full_name.partition("/")
    if not slash:
        return "is not OWNER/NAME"
    if not _OWNER.fullmatch(owner):
        return f"owner '{owner}' must be 1-39 letters, digits or hyphens, not starting with a hyphen"
    if not _NAME.fullmatch(name) or name in (".", ".."):
        return f"name '{name}' must be 1-100 letters, digits, '.', '_' or '-'"
    return None


def same_repository_name(a: str, b: str) -> bool:
    """Equal ignoring ASCII case; any non-ASCII character on either side never matches."""
    return a.isascii() and b.isascii() and a.lower() == b.lower()


@dataclass(slots=True)
class Repository:
    """Base of repositories. `identity()` is the key used to decide who may change what."""

    def identity(self) -> str:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def full_name(self) -> str:
        """`owner/name` as declared (case kept, for messages)."""
        raise NotImplementedError

    def branch_name(self) -> str:
        raise NotImplementedError

    def matches(self, full_name: str, branch: str | None = None) -> bool:
        """Is a change coming from `full_name` (and `branch`) this repository?

        Git hosts (GitHub, GitLab, Bitbucket) resolve owner and repository names
        case-insensitively but branch names exactly, so compare the same way; `branch=None`
        means "any branch of this repository" (used when the caller does not know it).
        """
        if not same_repository_name(full_name.strip(), self.full_name()):
            return False
        return branch is None or branch == self.branch_name()


@dataclass(slots=True)
class GitHubRepository(Repository):
    """A GitHub repository `owner/name` and the branch the model is read from.

    GitHub treats owner and repository names case-insensitively (`Acme/Eco` and `acme/eco` are
    the same repository), while branch names are case-sensitive, so the identity lower-cases
    the name and keeps the branch as written.
    """

    repo: str
    branch: str = "main"

    def identity(self) -> str:
        return f"github:{self.repo.lower()}@{self.branch}"

    def describe(self) -> str:
        return f"{self.repo}@{self.branch}"

    def full_name(self) -> str:
        return self.repo

    def branch_name(self) -> str:
        return self.branch

    @property
    def owner(self) -> str:
        return self.repo.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.repo.split("/", 1)[-1]


@dataclass(slots=True)
class LocalGitRepository(Repository):
    """A git repository on the local file system (the sandbox's model repository).

    `name` is the logical `owner/name` used for ownership checks, so the sandbox can model
    several owning repositories with one local checkout.
    """

    name: str
    path: str = ""
    branch: str = "main"

    def identity(self) -> str:
        return f"local:{self.name.lower()}@{self.branch}"

    def describe(self) -> str:
        return f"{self.name}@{self.branch} (local {self.path or '.'})"

    def full_name(self) -> str:
        return self.name

    def branch_name(self) -> str:
        return self.branch
