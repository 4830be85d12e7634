"""Argument parsing and dispatch; heavy imports (Qt, spaCy) happen only inside commands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from stancelabel import __version__

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
#: Standard output closed by its reader (128 + SIGPIPE), as other Unix tools end then.
EXIT_BROKEN_PIPE = 141


def build_parser() -> argparse.ArgumentParser:
    """The whole command line, as fixed by the interface contract."""
    parser = argparse.ArgumentParser(
        prog="stancelabel",
        description="Label the stance of attributed speakers in news text.",
        epilog="Run 'stancelabel COMMAND --help' for a command's options. With no command, opens the GUI.",
    )
    parser.add_argument("--version", action="version", version=f"stancelabel {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="show tracebacks of errors")
    parser.add_argument("-v", "--verbose", action="store_true", default=False, help="show tracebacks of errors")
    commands = _Commands(parser.add_subparsers(dest="command", metavar="COMMAND"), common)

    p = commands.add_parser("import", help="import documents (txt, JSONL, CSV, BRAT) into a project",
                            description="Import documents into PROJECT (created if missing). Each document is "
                            "committed as soon as it is processed: an interrupted import can be run again "
                            "and continues where it stopped.")
    p.add_argument("project", metavar="PROJECT", help="project file (.stance)")
    p.add_argument("paths", metavar="PATH", nargs="+", help="files or folders to import")
    p.add_argument("--format", choices=("auto", "txt", "jsonl", "csv", "brat"), default="auto",
                   help="input format (default: by file extension; folders with .ann files are BRAT)")
    p.add_argument("--model", metavar="NAME",
                   help="spaCy pipeline (package name or blank:en); default: the project's, else the best installed")
    p.add_argument("--n-process", type=_positive_int, default=1, metavar="N", help="worker processes for spaCy")
    p.add_argument("--batch-size", type=_positive_int, default=16, metavar="N", help="documents per spaCy batch")
    p.add_argument("--no-detect", action="store_true", help="do not detect attributions automatically")
    _detector_option(p)
    p.add_argument("--annotator", metavar="NAME", help="annotator of BRAT .ann files without one in their name")
    p.add_argument("--text-column", default="text", metavar="NAME", help="CSV column holding the text")
    p.add_argument("--id-column", metavar="NAME", help="CSV column holding the document id (default: id)")
    p.add_argument("--target", metavar="TEXT",
                   help="the target claim of every imported document that does not name its own")
    p.add_argument("--target-column", metavar="NAME", help="CSV column holding each document's target claim")

    p = commands.add_parser("export", help="write labels as JSONL, CSV, spaCy or BRAT training data",
                            description="Export the labels of PROJECT: one record per (attribution, annotator) "
                            "label, or per attribution with --all. The file appears only complete: an "
                            "interrupted export leaves any earlier file at OUT unchanged.")
    p.add_argument("project", metavar="PROJECT",
                   help="a project file, or a shared project's URL (read from the server, no local copy needed)")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="the file to write (a folder for --format brat; - for standard output, JSONL or CSV)")
    p.add_argument("--format", choices=("jsonl", "csv", "spacy", "brat"), default=None,
                   help="default: from OUT's extension (.jsonl, .csv, .spacy; a folder: brat)")
    p.add_argument("--annotator", action="append", default=[], metavar="NAME",
                   help="only this annotator's labels (repeatable; default: everyone's)")
    p.add_argument("--gold", action="store_true", help="the adjudicated (gold) labels instead")
    p.add_argument("--all", action="store_true",
                   help="also attributions nobody labelled (label null) and those marked not an attribution")
    p.add_argument("--label", action="append", default=[], metavar="L", help="only this label (repeatable)")
    p.add_argument("--flagged", action="store_true", help="only labels flagged as unsure")
    p.add_argument("--raw", action="store_true",
                   help="CSV: write cells as they are (default: a cell starting with = + - @ gets a leading ')")
    p.add_argument("--bom", action="store_true", help="CSV: start with a byte order mark (for Excel)")
    p.add_argument("--per-doc", action="store_true", help="spaCy: one Doc per document instead of per sentence")

    p = commands.add_parser("detect", help="find attributions in the documents of a project",
                            description="Detect attributions (source, cue, content) in documents already in "
                            "PROJECT. Without --redo, only documents with no automatic attributions are read.")
    p.add_argument("project", metavar="PROJECT")
    p.add_argument("--redo", action="store_true",
                   help="replace automatic attributions nobody has labelled or edited, in every document")
    p.add_argument("--model", metavar="NAME", help="spaCy pipeline (default: the project's)")
    p.add_argument("--n-process", type=_positive_int, default=1, metavar="N", help="worker processes for spaCy")
    _detector_option(p)

    p = commands.add_parser("evaluate", help="score attribution detection against gold BRAT annotations",
                            description="Run detection on the texts of a BRAT folder (NAME.txt with "
                            "NAME_ANNOTATOR.ann, or text/ and attributions/ subfolders) and score it against "
                            "the first annotator's file of each text: precision, recall and F1 per role under "
                            "overlap and exact match, and per attribution.")
    p.add_argument("gold", metavar="GOLD_BRAT_DIR")
    p.add_argument("--model", metavar="NAME", help="spaCy pipeline (default: the best installed)")
    p.add_argument("--pred-dir", metavar="DIR",
                   help="score this BRAT folder's annotations instead of the detector (another annotator)")
    p.add_argument("--n-process", type=_positive_int, default=1, metavar="N", help="worker processes for spaCy")
    _detector_option(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")

    p = commands.add_parser("stats", help="counts of documents, sentences, attributions and labels",
                            description="Count the documents, sentences, attributions and labels of PROJECT, "
                            "by origin, annotator and label, with each import's spaCy pipeline. Only reads: "
                            "works on files in read-only folders and writes nothing.")
    p.add_argument("project", metavar="PROJECT",
                   help="a project file, or a shared project's URL (read from the server, no local copy needed)")
    p.add_argument("--json", action="store_true", help="print one JSON object")

    p = commands.add_parser("split", help="give each annotator a project file with a share of the documents",
                            description="Write one project file per annotator into DIR, each with its share of "
                            "PROJECT's documents (and their attributions, labels schema, targets and guidelines, "
                            "but nobody's labels); a fraction (--overlap) goes to everyone, for agreement.")
    p.add_argument("project", metavar="PROJECT")
    p.add_argument("--annotators", required=True, metavar="A,B,...", help="comma-separated annotator names")
    p.add_argument("--overlap", type=float, default=0.2, metavar="F",
                   help="fraction of documents every annotator gets (default 0.2)")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="the shuffle's seed (default 0)")
    p.add_argument("-o", "--output", required=True, metavar="DIR")

    p = commands.add_parser("merge", help="merge annotators' project files and JSONL exports into one",
                            description="Merge project files (and JSONL exports of this tool) into a new project "
                            "MERGED: documents matched by text, attributions by key, labels with their whole "
                            "history. Every input is checked first; MERGED is written only when all are read.")
    p.add_argument("-o", "--output", required=True, metavar="MERGED")
    p.add_argument("inputs", metavar="INPUT", nargs="+")
    p.add_argument("--force", action="store_true", help="replace MERGED if it exists (never one of the inputs)")
    p.add_argument("--json", action="store_true", help="print the merge report as one JSON object")

    p = commands.add_parser("agreement", help="how far annotators agree on their stance labels",
                            description="Agreement over the attributions labelled by at least two annotators: "
                            "observed agreement, Krippendorff's alpha (nominal), Fleiss' kappa (items labelled by "
                            "all), Gwet's AC1, per-label specific agreement, and Cohen's kappa with a confusion "
                            "matrix for every pair.")
    p.add_argument("project", metavar="PROJECT",
                   help="a project file, or a shared project's URL (read from the server, no local copy needed)")
    p.add_argument("--annotator", action="append", default=[], metavar="NAME",
                   help="only these annotators (repeatable; default: all who labelled)")
    p.add_argument("--by-target", action="store_true", help="also per target claim")
    p.add_argument("--json", action="store_true", help="print one JSON object")

    p = commands.add_parser("adjudicate", help="settle undisputed labels into gold labels",
                            description="Give a gold label to every attribution labelled by at least two "
                            "annotators that the rule settles: majority (more than half agree) or unanimous. "
                            "Gold labels already given stay. The rest is reported, for review in the window.")
    p.add_argument("project", metavar="PROJECT",
                   help="a project file, or a shared project's URL (read from the server, no local copy needed)")
    p.add_argument("--auto", choices=("majority", "unanimous"), required=True)

    p = commands.add_parser("guidelines", help="print or replace the project's annotation guidelines",
                            description="Print the project's annotation guidelines (Markdown), or replace them "
                            "with --set FILE. A section headed with a label's name (e.g. '## denies') also "
                            "becomes that label's description, shown on its button.")
    p.add_argument("project", metavar="PROJECT")
    p.add_argument("--set", metavar="FILE", dest="set_file", help="a UTF-8 Markdown file, or - for standard input")

    p = commands.add_parser("publish", help="put a project on a PostgreSQL server for a team to share",
                            description="Create a shared project from PROJECT in its own schema on a PostgreSQL "
                            "server (documents, attributions, label schema, guidelines, targets, the split's "
                            "assignments, the event log). URL is a libpq connection string or postgresql:// URL; "
                            "the password comes from libpq's usual places (PGPASSWORD, ~/.pgpass, a service "
                            "file) and is never stored in the project. PROJECT then syncs with it.")
    p.add_argument("project", metavar="PROJECT")
    p.add_argument("url", metavar="URL")
    p.add_argument("--schema", metavar="NAME", help="the schema to create (default: from the project's name)")
    p.add_argument("--lead", metavar="NAME", help="your annotator name (you may write gold labels)")
    p.add_argument("--not-blind", action="store_true",
                   help="let annotators read each other's labels (default: each sees only their own)")

    p = commands.add_parser("join", help="make a local working copy of a shared project",
                            description="Make a project file OUT to work on a shared project: your share of the "
                            "documents if the lead assigned one, with the label schema, guidelines and targets. "
                            "Everything works on it offline; stancelabel sync OUT exchanges the changes.")
    p.add_argument("url", metavar="URL")
    p.add_argument("-o", "--output", required=True, metavar="OUT")
    p.add_argument("--annotator", required=True, metavar="NAME", help="your annotator name")
    p.add_argument("--schema", metavar="NAME", help="the shared project (needed when the database holds several)")

    p = commands.add_parser("sync", help="exchange a working copy's changes with its shared project",
                            description="Send PROJECT's new labels, notes, flags, span edits and attributions to "
                            "its server and bring back what it lacks; the later of two labels wins, as in merge. "
                            "A lead's file also sends the documents imported into it since (with their "
                            "attributions) and its guideline edits; every copy brings in the new documents it "
                            "should hold (all of them, or for an annotator with a share those the lead assigned "
                            "with stancelabel server assign) and the lead's guidelines. An interrupted sync loses "
                            "nothing: run it again.")
    p.add_argument("project", metavar="PROJECT")
    p.add_argument("--url", metavar="URL", help="connect this way for this run (the file keeps its own address)")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")

    p = commands.add_parser("server", help="manage a shared project on PostgreSQL",
                            description="Manage a shared project on PostgreSQL: add-annotator gives an annotator a "
                            "database role of their own; assign puts documents in annotators' shares.")
    server = p.add_subparsers(dest="server_command", metavar="ACTION", required=True)
    q = server.add_parser("add-annotator", parents=[common],
                          help="give an annotator a database role of their own",
                          description="Create a database role for annotator NAME that may add only their own "
                          "events and, in a blind project, read nobody else's labels. Run with the lead's "
                          "rights (CREATEROLE), or --print the SQL for the database's administrator.")
    q.add_argument("url", metavar="URL")
    q.add_argument("name", metavar="NAME")
    q.add_argument("--role", metavar="ROLE", help="the role's name (default: SCHEMA_NAME)")
    q.add_argument("--schema", metavar="NAME", help="the shared project (needed when the database holds several)")
    q.add_argument("--lead", action="store_true", help="a lead: reads everyone's labels and writes gold")
    q.add_argument("--print", action="store_true", dest="print_only", help="print the SQL instead of running it")
    q = server.add_parser("assign", parents=[common], help="put documents in annotators' shares",
                          description="In a split project an annotator's working copy holds the documents "
                          "assigned to them; documents the lead imports later are in nobody's share until "
                          "assigned here (copies of every document get them at once). Name documents by id or "
                          "sha256, or take every unassigned one with --unassigned; each annotator's next sync "
                          "brings them. Run as the lead; repeating it changes nothing.")
    q.add_argument("url", metavar="URL")
    q.add_argument("documents", metavar="DOC", nargs="*", help="a document's id (as imported) or sha256")
    q.add_argument("--annotator", action="append", required=True, metavar="NAME",
                   help="whose share (repeat for several: each gets the documents)")
    q.add_argument("--unassigned", action="store_true", help="also every document in nobody's share yet")
    q.add_argument("--schema", metavar="NAME", help="the shared project (needed when the database holds several)")

    p = commands.add_parser("gui", help="open the annotation window",
                            description="Open the annotation window on PROJECT. Without one, on the most "
                            "recent project; with --sample, or when there is none, on the bundled sample project "
                            "(made on first use in the per-user data folder the README names). Also started by "
                            "`stancelabel` alone, `stancelabel FILE.stance` and `stancelabel-gui`.")
    p.add_argument("project", metavar="PROJECT", nargs="?", help="project file to open")
    p.add_argument("--sample", action="store_true", help="open the bundled sample project")
    return parser


class _Commands:
    """add_parser with the options every command shares (-v may come after the command too)."""

    def __init__(self, subparsers, common: argparse.ArgumentParser) -> None:
        self._subparsers, self._common = subparsers, common

    def add_parser(self, name: str, **kwargs) -> argparse.ArgumentParser:
        return self._subparsers.add_parser(name, parents=[self._common], **kwargs)


COMMAND_NAMES = ("import", "export", "detect", "evaluate", "stats", "split", "merge", "agreement", "adjudicate",
                 "guidelines", "publish", "join", "sync", "server", "gui")


def _detector_option(parser: argparse.ArgumentParser) -> None:
    # "tagger" is the earlier name of the fast detector (it replaced the NER cue tagger)
    parser.add_argument("--detector", choices=("fast", "accurate", "rules", "tagger"), default="fast",
                        help="attribution detection: fast (default: a cue classifier over the parse), "
                        "accurate (a transformer encoder; needs stancelabel[accurate]; imports take about "
                        "1.7 times as long) or rules (the lexicon alone); tagger is an old name for fast")


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more: {value}")
    return number


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``stancelabel`` console script; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0].lower().endswith(".stance") and argv[0] not in COMMAND_NAMES:
        argv.insert(0, "gui")  # `stancelabel file.stance`, as a file manager opens it
    args = build_parser().parse_args(argv)
    if args.command is None:
        args.command, args.project, args.sample = "gui", None, False
    if args.verbose:  # what the run does, on standard error (the window keeps its own log file)
        import logging

        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from stancelabel.cli import commands  # after parsing: --help stays instant
    from stancelabel.core.errors import StanceLabelError
    from stancelabel.core.names import for_terminal

    try:
        return commands.run(args)
    except BrokenPipeError:
        # The reader of our output went away (`export -o - | head`): stop quietly, as Unix tools do.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except (StanceLabelError, OSError) as error:
        if args.verbose:
            import traceback

            traceback.print_exc()
        if isinstance(error, StanceLabelError):
            message = str(error)
        else:  # a file system failure no command foresaw: still one line, naming the path
            where = error.filename if error.filename is not None else "error"
            message = f"{where}: {error.strerror or error}"
        print(f"error: {for_terminal(message)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def gui_main() -> int:
    """Entry point of the ``stancelabel-gui`` script: the ``gui`` command."""
    return main(["gui", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
