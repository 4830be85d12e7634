"""The shared-project commands: publish, join, sync, server add-annotator and server assign."""

from __future__ import annotations

import argparse

from stancelabel.cli.commands import _err, _out, _out_json, _warn
from stancelabel.cli.main import EXIT_OK, EXIT_USAGE
from stancelabel.store.project import Project


def run(args: argparse.Namespace) -> int:
    from stancelabel.server import require_psycopg

    require_psycopg()  # one line saying how to install it, before anything is opened
    if args.command == "server":
        return cmd_assign(args) if args.server_command == "assign" else cmd_add_annotator(args)
    return {"publish": cmd_publish, "join": cmd_join, "sync": cmd_sync}[args.command](args)


def cmd_publish(args: argparse.Namespace) -> int:
    from stancelabel.server.sync import publish

    with Project.open(args.project) as project:
        report = publish(project, args.url, schema=args.schema, blind=not args.not_blind, lead=args.lead)
    _out(f"published {args.project} as the shared project {report.schema!r}: {report.documents} document(s), "
         f"{report.attributions} attribution(s), {report.events} event(s)")
    _out(f"next: stancelabel server add-annotator URL NAME for each annotator; they run stancelabel join URL "
         f"-o FILE --annotator NAME --schema {report.schema}")
    return EXIT_OK


def cmd_join(args: argparse.Namespace) -> int:
    from stancelabel.server.sync import join

    report = join(args.url, args.output, args.annotator, schema=args.schema)
    what = "your share" if report.share else "every document"
    _out(f"{args.output}: {what} ({report.documents} document(s), {report.attributions} attribution(s)) for "
         f"{report.annotator}; {report.sync.pulled.events if report.sync else 0} event(s) brought in; "
         f"run stancelabel sync {args.output} to exchange changes")
    for reason in report.sync.pulled.refused if report.sync else []:
        _warn(f"left out: {reason}")
    return EXIT_OK


def cmd_sync(args: argparse.Namespace) -> int:
    from stancelabel.server.sync import sync

    with Project.open(args.project) as project:
        report = sync(project, args.url)
    if args.json:
        _out_json(report.to_json())
        return EXIT_OK
    pulled = report.pulled
    _out(f"sent {report.pushed_events} event(s) and {report.pushed_attributions} attribution(s); brought in "
         f"{pulled.events} event(s) and {report.pulled_attributions} attribution(s) ({pulled.already} already "
         "here)")
    if report.pushed_documents or report.pulled_documents:
        _out(f"  documents: {report.pushed_documents} sent, {report.pulled_documents} brought in")
    if report.unassigned:
        _out(f"  {report.unassigned} document(s) on the server are in nobody's share: stancelabel server assign "
             "URL --annotator NAME --unassigned (or name them)")
    if any(report.kept):
        _out(f"  kept here, not sent: {report.kept[0]} attribution(s) and {report.kept[1]} event(s) on documents "
             "the shared project does not have (only a lead adds documents)")
    if report.guidelines:
        _out(f"  guidelines {report.guidelines}")
    for name in report.labels_added:
        _out(f"  label {name!r} added to the schema")
    for reason in pulled.refused:
        _warn(f"left out: {reason}")
    return EXIT_OK


def cmd_add_annotator(args: argparse.Namespace) -> int:
    from stancelabel.server.sync import add_annotator

    role, sql = add_annotator(args.url, args.name, role=args.role, schema=args.schema, lead=args.lead,
                              run=not args.print_only)
    if args.print_only:
        _out(";\n".join(sql) + ";")
        return EXIT_OK
    _out(f"annotator {args.name} has the database role {role!r}; give it a password with: "
         f"psql URL -c '\\password {role}' (or let it log in the way your server is set up)")
    return EXIT_OK


def cmd_assign(args: argparse.Namespace) -> int:
    from stancelabel.server.sync import assign

    if not args.documents and not args.unassigned:
        _err("error: name the documents to assign (DOC ...), or give --unassigned")
        return EXIT_USAGE
    count, added = assign(args.url, args.annotator, args.documents, unassigned=args.unassigned,
                          schema=args.schema)
    _out(f"{count} document(s) for {', '.join(args.annotator)}: {added} new assignment(s); they come with each "
         "one's next sync")
    return EXIT_OK
