"""Where model code lives. Ownership of every model object is tied to one repository."""

from __future__ import annotations

from dataclasses import dataclass


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
        if full_name.strip().lower() != self.full_name().lower():
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
