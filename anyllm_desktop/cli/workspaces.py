"""`anyllm workspace …`: create, list, rename and delete workspaces, re-index one, and show or
change its embedding model."""

from __future__ import annotations

import argparse
from typing import Any

from anyllm_desktop.cli.errors import CommandError
from anyllm_desktop.cli.output import print_ingest, print_json, run_job, show_progress
from anyllm_desktop.cli.session import job, library_session
from anyllm_desktop.core.events import Done, Error, Progress


def add_commands(commands: Any) -> None:
    workspace = commands.add_parser("workspace", help="create, list, rename or delete workspaces")
    actions = workspace.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a workspace")
    create.add_argument("name")
    create.add_argument(
        "--location",
        default="",
        help="s3://bucket/prefix (S3-compatible "
        "storage) or db://project (LanceDB Cloud); default: this computer",
    )
    create.add_argument("--endpoint", default="", help="the S3 endpoint URL (MinIO, R2, ...)")
    create.add_argument("--region", default="")
    create.add_argument("--access-key-id", default="")
    create.add_argument(
        "--secret-from-env",
        metavar="VAR",
        help="read the secret access key "
        "(or LanceDB Cloud API key) from this variable instead of stdin",
    )
    create.set_defaults(handler=_create)
    listing = actions.add_parser("list", help="list workspaces")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_list)
    show = actions.add_parser("show", help="a workspace's location, documents and models")
    show.add_argument("name")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=_show)
    rename = actions.add_parser("rename", help="rename a workspace")
    rename.add_argument("name")
    rename.add_argument("new_name")
    rename.set_defaults(handler=_rename)
    delete = actions.add_parser("delete", help="delete a workspace, its index and document list")
    delete.add_argument("name")
    delete.set_defaults(handler=_delete)
    reindex = actions.add_parser(
        "reindex",
        help="chunk and embed every document again from its file (repairs a lost or damaged "
        "index; waits for a running ingest)",
    )
    reindex.add_argument("name")
    reindex.add_argument("--json", action="store_true")
    reindex.set_defaults(handler=_reindex)
    embedder = actions.add_parser(
        "embedder", help="show a workspace's embedding model and the choices, or re-embed with one"
    )
    embedder.add_argument("name")
    embedder.add_argument("model", nargs="?", help="an id from the list this prints")
    embedder.add_argument(
        "--send-to-cloud",
        action="store_true",
        help="agree that the workspace's documents and questions go to the cloud embedder",
    )
    embedder.add_argument("--json", action="store_true")
    embedder.set_defaults(handler=_embedder)
    answering = actions.add_parser(
        "model", help="show or set the model a workspace answers with (ask and chat use it)"
    )
    answering.add_argument("name")
    answering.add_argument("model", nargs="?", help="a local model id (BASE+ADAPTER_ID too), "
                           "cloud:PROVIDER:MODEL, or 'default' for the app's")  # fmt: skip
    answering.add_argument("--json", action="store_true")
    answering.set_defaults(handler=_model)


def _create(args: argparse.Namespace) -> int:
    from anyllm_desktop.services.shared_workspaces import create_workspace_at

    location = _location(args)
    secret = _secret(args) if location.remote else None
    with library_session(args) as library:
        if not location.remote:
            workspace = library.create_workspace(args.name)
        else:
            try:  # joined, when another computer created a workspace there
                workspace = create_workspace_at(library, args.name, location, secret)
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
        documents = len(library.documents(workspace.name))
    print(f"created workspace {workspace.name!r}\nLocation: {location.describe()}")
    if location.remote:
        print(f"Documents there already: {documents}")
    return 0


def _location(args: argparse.Namespace) -> Any:
    from anyllm_desktop.store.locations import StoreLocation

    try:
        return StoreLocation(args.location, args.endpoint, args.region, args.access_key_id)
    except ValueError as exc:
        raise CommandError(str(exc)) from exc


def _secret(args: argparse.Namespace) -> str:
    import getpass
    import os
    import sys

    if args.secret_from_env:
        secret = os.environ.get(args.secret_from_env, "")
        if not secret:
            raise CommandError(f"The variable {args.secret_from_env} is empty or not set.")
        return secret
    prompt = "Secret access key (or API key): "
    secret = getpass.getpass(prompt) if sys.stdin.isatty() else sys.stdin.readline().strip()
    if not secret:
        raise CommandError("No secret given: type it, or use --secret-from-env VAR.")
    return secret


def _show(args: argparse.Namespace) -> int:
    from anyllm_desktop.store.locations import location_of

    with library_session(args) as library:
        workspace = library.workspace(args.name)
        documents = library.records.document_counts().get(workspace.id, 0)
        location = location_of(library.runtime.paths.home, workspace.uid)
    row = {"name": workspace.name, "location": location.uri or "local",
           "endpoint": location.endpoint, "region": location.region, "documents": documents,
           "embedding_model": workspace.embedding_model}  # fmt: skip
    if args.json:
        print_json(row)
    else:
        print(f"Name: {workspace.name}\nLocation: {location.describe()}\n"
              f"Documents: {documents}\nEmbedding model: {workspace.embedding_model}")  # fmt: skip
    return 0


def _list(args: argparse.Namespace) -> int:
    from anyllm_desktop.store.locations import location_of

    with library_session(args) as library:
        counts = library.records.document_counts()
        rows = [
            {
                "name": w.name,
                "documents": counts.get(w.id, 0),
                "embedding_model": w.embedding_model,
                "retrieval": w.retrieval.to_dict(),
                "location": location_of(library.runtime.paths.home, w.uid).uri or "local",
            }
            for w in library.workspaces()
        ]
    if args.json:
        print_json({"workspaces": rows})
    else:
        for row in rows:
            where = "" if row["location"] == "local" else f"  Location: {row['location']}"
            print(f"{row['name']}  ({row['documents']} documents){where}")
        if not rows:
            print("no workspaces yet: anyllm workspace create NAME")
    return 0


def _rename(args: argparse.Namespace) -> int:
    with library_session(args) as library:
        workspace = library.rename_workspace(args.name, args.new_name)
    print(f"renamed to {workspace.name!r}")
    return 0


def _delete(args: argparse.Namespace) -> int:
    from anyllm_desktop.store.locations import forget

    with library_session(args) as library:
        uid = library.workspace(args.name).uid
        run_job(job(library, "delete", args.name))
        forget(library.runtime.paths.home, uid)
    print(f"deleted workspace {args.name!r}")
    return 0


def _reindex(args: argparse.Namespace) -> int:
    """Every document chunked and embedded again from its file (repairs a lost index)."""
    with library_session(args) as library:
        return print_ingest(job(library, "reindex", args.name), args)


def _embedder(args: argparse.Namespace) -> int:
    from anyllm_desktop.core.events import CONSENT_REQUIRED
    from anyllm_desktop.services.cloud_providers import embedding_models

    with library_session(args) as library:
        current = library.workspace(args.name).embedding_model
        if args.model is None:
            choices = embedding_models(library.runtime)
            if args.json:
                print_json({"workspace": args.name, "embedding_model": current,
                            "choices": choices})  # fmt: skip
            else:
                for choice in choices:
                    mark = "*" if choice["id"] == current else " "
                    print(f"{mark} {choice['id']}  {choice['label']}")
            return 0
        events = job(library, "reembed", args.name, model=args.model, agreed=args.send_to_cloud)
        for event in events:
            if isinstance(event, Progress):
                show_progress(event)
            elif isinstance(event, Error) and event.detail == CONSENT_REQUIRED:
                raise CommandError(f"{event.message} Add --send-to-cloud to agree.")
            elif isinstance(event, Error):
                raise CommandError(event.message)
            elif isinstance(event, Done):
                if args.json:
                    print_json(event.result)
                else:
                    print(f"{args.name}: {event.result['passages']} passages embedded with "
                          f"{args.model}")  # fmt: skip
    return 0


def _model(args: argparse.Namespace) -> int:
    from anyllm_desktop.providers.model_ids import UnknownModelError, parse_cloud_model_id
    from anyllm_desktop.providers.registry import model_kind

    with library_session(args) as library:
        chat = library.workspace(args.name).chat
        if args.model == "default":
            chat = library.update_chat(args.name, provider="", model="").chat
        elif args.model is not None:
            try:
                cloud = parse_cloud_model_id(args.model)
                if cloud is None and not model_kind(args.model).offers(args.model, "chat"):
                    raise UnknownModelError(f"{args.model!r} is not a chat model")
            except UnknownModelError as exc:
                raise CommandError(str(exc)) from exc
            provider, model = cloud or ("local", args.model)
            chat = library.update_chat(args.name, provider=provider, model=model).chat
        settings = library.runtime.settings
        provider = chat.provider or settings.default_provider
        model = chat.model or (settings.chat_model if provider == "local" else "")
    if args.json:
        print_json({"workspace": args.name, "provider": provider, "model": model,
                    "chosen": bool(chat.provider or chat.model)})  # fmt: skip
    else:
        print(f"{args.name} answers with {model or 'the default model'} ({provider})"
              + ("" if chat.provider or chat.model else ", the app's default"))  # fmt: skip
    return 0
