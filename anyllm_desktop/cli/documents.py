"""`anyllm ingest`, `docs` and `search`: adding files to a workspace, listing its documents,
finding passages."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from anyllm_desktop.cli.output import print_ingest, print_json
from anyllm_desktop.cli.session import job, library_session
from anyllm_desktop.core.filenames import printable


def add_commands(commands: Any) -> None:
    ingest = commands.add_parser("ingest", help="add files or folders to a workspace")
    ingest.add_argument("-w", "--workspace", required=True)
    ingest.add_argument("paths", nargs="+", metavar="PATH")
    ingest.add_argument("--json", action="store_true")
    ingest.set_defaults(handler=_ingest)

    docs = commands.add_parser("docs", help="list a workspace's documents")
    docs.add_argument("-w", "--workspace", required=True)
    docs.add_argument("--json", action="store_true")
    docs.set_defaults(handler=_docs)

    search = commands.add_parser("search", help="find passages in a workspace")
    search.add_argument("-w", "--workspace", required=True)
    search.add_argument("query")
    search.add_argument(
        "-k", type=int, default=None, help="number of passages (default: the workspace's setting)"
    )
    search.add_argument("--mode", choices=("hybrid", "vector", "fulltext"), default=None)
    search.add_argument("--json", action="store_true")
    search.set_defaults(handler=_search)


def _ingest(args: argparse.Namespace) -> int:
    from anyllm_desktop.services.jobs import paths_param

    with library_session(args) as library:
        paths = paths_param([Path(p) for p in args.paths])
        return print_ingest(job(library, "ingest", args.workspace, paths=paths), args)


def _docs(args: argparse.Namespace) -> int:
    with library_session(args) as library:
        health = library.health(args.workspace)  # first: a shared list is read again
        documents = library.documents(args.workspace)
    if not health.ok:
        print(f"anyllm: warning: {health.message}", file=sys.stderr)
    rows = [
        {
            "id": d.id,
            "document": d.title,
            "path": d.path,
            "status": d.status,
            "chunks": d.chunks,
            "kind": d.kind,
            "size": d.size,
            "pages": d.pages,
            "error": d.error,
            "added_at": d.added_at,
            "indexed_at": d.indexed_at,
        }
        for d in documents
    ]
    if args.json:
        print_json({"documents": rows})
    else:
        for row in rows:
            detail = f"{row['chunks']} passages" if row["status"] == "indexed" else row["error"]
            line = f"[{row['status']}] {row['document']} — {row['path']} ({detail})"
            print(printable(line))
    return 0


def _search(args: argparse.Namespace) -> int:
    with library_session(args) as library:
        results = library.search(args.workspace, args.query, k=args.k, mode=args.mode)
    rows = [r.to_json() for r in results]
    if args.json:
        print_json({"results": rows})
    else:
        for row in rows:
            where = f", page {row['page']}" if row["page"] else ""
            print(f"{row['rank']}. {row['document']}{where} — {row['section']}")
            print("   " + row["text"][:300].replace("\n", " "))
        if not rows:
            print("no passages found")
    return 0
