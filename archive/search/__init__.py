"""Full-text search: the index (:mod:`.index`), the query engine (:mod:`.engine`) and the
postings codec (:mod:`.codec`).

Importing the package subscribes the index to the store's commits: every write that
touches a case or a volume updates the index after it commits, when the workspace has one.
The package itself imports nothing heavy; jieba, Whoosh and numpy load with :mod:`.index`.
"""

from __future__ import annotations

from ..core.session import subscribe


def follow(session, touched) -> None:
    """Bring the index in step with what a committed write touched."""
    if session.ws.index_dir.exists():
        from .index import apply_changes

        apply_changes(session, touched)


subscribe(follow)
