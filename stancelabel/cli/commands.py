"""The command implementations behind `stancelabel`; each returns an exit code."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from stancelabel.cli.main import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK
from stancelabel.cli.progress import ImportProgressBar
from stancelabel.core.names import clean_name, for_terminal, json_for_terminal
from stancelabel.store.project import Project


def run(args: argparse.Namespace) -> int:
    if args.command in ("publish", "join", "sync", "server"):
        from stancelabel.cli import server

        return server.run(args)
    return _COMMANDS[args.command](args)


def _readable(project: str):
    """The project a lead's command reads: a file, or a shared project's server (its URL in place of
    the file) copied for this one command."""
    from stancelabel.server import is_server_url

    if is_server_url(project):
        from stancelabel.server import require_psycopg

        require_psycopg()
        from stancelabel.server.reading import shared_copy

        return shared_copy(project)
    return Project.open(project, readonly=True)


def _interrupted(summary: str, interrupted: bool) -> bool:
    """Print a run's summary: on stderr with how to continue when it was interrupted."""
    if interrupted:
        _err(f"{summary}. Interrupted: run the same command again to continue.")
    else:
        _out(summary)
    return interrupted


def _out(text: str = "") -> None:
    """A line (or lines) of a command's report on standard output, with control characters escaped:
    names and paths come from files, and a hostile one must not reach the terminal as escape sequences."""
    print("\n".join(for_terminal(line, keep="\t") for line in str(text).split("\n")))


def _err(text: str) -> None:
    sys.stdout.flush()
    print("\n".join(for_terminal(line) for line in str(text).split("\n")), file=sys.stderr)


def _out_json(value: object) -> None:
    print(json_for_terminal(json.dumps(value, ensure_ascii=False, indent=2)))


def _warn(message: str) -> None:
    _err(f"warning: {message}")


def cmd_import(args: argparse.Namespace) -> int:
    from stancelabel.io.importer import ImportOptions, ImportReport, import_sources, read_sources

    if args.annotator is not None:  # a usage error: checked before a file is read or the project made
        args.annotator = clean_name(args.annotator, "--annotator")
    options = ImportOptions(format=args.format, text_column=args.text_column, id_column=args.id_column,
                            annotator=args.annotator, n_process=args.n_process, batch_size=args.batch_size,
                            detect=not args.no_detect, target=args.target, target_column=args.target_column)
    paths = [Path(p) for p in args.paths]
    report = ImportReport()
    sources = read_sources(paths, options, report)  # before the project is created or spaCy loaded
    pipeline = None
    if sources:
        with Project.open(args.project, create=True) as project:
            if project.backup_path:
                _warn(f"upgraded the project file; the previous version is kept in {project.backup_path}")
            nlp, pipeline = _project_pipeline(project, args.model, detect=options.detect, detector=args.detector)
            bar = ImportProgressBar()
            try:
                import_sources(project, sources, [str(p) for p in paths], options, nlp, pipeline,
                               report=report, progress=bar.update)
            finally:
                bar.close()
    for message in report.warnings:
        _warn(message)
    for message in report.errors:
        _err(f"error: {message}")
    if pipeline is None:
        _err("error: nothing to import; the project was not changed")
        return EXIT_ERROR
    summary = (f"{report.documents_added} document(s) imported ({report.sentences_added} sentences, "
               f"{report.attributions_added} attributions) with {pipeline.name} {pipeline.version}")
    if report.documents_present:
        summary += f"; {report.documents_present} skipped as duplicate text (already in the project or repeated)"
    if _interrupted(summary, report.interrupted):
        return EXIT_INTERRUPTED
    if report.errors:
        _err(f"error: {len(report.errors)} file(s) or path(s) could not be imported; see above")
        return EXIT_ERROR
    return EXIT_OK


def _project_pipeline(project: Project, model: str | None, *, detect: bool, detector: str = "tagger"):
    from stancelabel.io.importer import project_pipeline

    nlp, pipeline = project_pipeline(project, model, detect=detect, detector=detector)
    if pipeline.warning:
        _warn(pipeline.warning)
    return nlp, pipeline


def cmd_detect(args: argparse.Namespace) -> int:
    from stancelabel.io.detection import detect_in_project

    with Project.open(args.project) as project:
        nlp, pipeline = _project_pipeline(project, args.model, detect=True, detector=args.detector)
        bar = ImportProgressBar("detecting")
        try:
            report = detect_in_project(project, nlp, redo=args.redo, n_process=args.n_process, progress=bar.update)
        finally:
            bar.close()
    summary = f"{report.added} attribution(s) found in {report.documents} document(s) with {pipeline.name}"
    if args.redo:
        summary += f"; {report.removed} untouched automatic attribution(s) replaced"
    return EXIT_INTERRUPTED if _interrupted(summary, report.interrupted) else EXIT_OK


def cmd_evaluate(args: argparse.Namespace) -> int:
    from stancelabel.io.evaluation import evaluate, format_evaluation

    nlp = None
    if args.pred_dir is None:
        from stancelabel.nlp.pipeline import load_pipeline

        nlp, pipeline = load_pipeline(args.model, detect=True, detector=args.detector)
        if pipeline.warning:
            _warn(pipeline.warning)
    bar = ImportProgressBar("evaluating")
    try:
        evaluation, errors = evaluate(Path(args.gold), nlp=nlp,
                                      pred_dir=Path(args.pred_dir) if args.pred_dir else None,
                                      n_process=args.n_process, progress=bar.update)
    finally:
        bar.close()
    for message in errors:
        _err(f"error: {message}")
    if args.json:
        _out_json(evaluation.as_dict())
    else:
        _out(format_evaluation(evaluation))
    return EXIT_ERROR if errors else EXIT_OK


def cmd_stats(args: argparse.Namespace) -> int:
    with _readable(args.project) as project:
        stats = project.stats()
    if args.json:
        _out_json(stats)
        return EXIT_OK
    _out(f"{stats['project']}: {stats['documents']} documents, {stats['sentences']} sentences, "
          f"{stats['attributions']} attributions, {stats['labels']} labels")
    if stats["targets"]:
        _out(f"  targets: {stats['targets']} ({stats['documents_with_target']} documents have one)")
    if stats["assignment"]:
        a = stats["assignment"]
        _out(f"  {a['annotator']}'s share of {a['source_project']}: {a['documents']} documents "
              f"({a['shared_documents']} shared with everyone)")
    if stats["split"]:
        _out(f"  split among {', '.join(stats['split']['annotators'])} (overlap {stats['split']['overlap']})")
    for title, key in (("by origin", "by_origin"), ("by annotator", "by_annotator"), ("by label", "by_label")):
        if stats[key]:
            _out(f"  {title}: " + ", ".join(f"{k} {v}" for k, v in stats[key].items()))
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from stancelabel.io.export import ExportOptions, export, format_for

    output = args.output  # a string: "" must stay empty (not the current folder), "-" is standard output
    fmt = args.format or format_for(output)
    options = ExportOptions(format=fmt, annotators=args.annotator, gold=args.gold, all=args.all,
                            labels=args.label, flagged=args.flagged, raw=args.raw, bom=args.bom,
                            per_doc=args.per_doc)
    bar = ImportProgressBar("exporting", unit="records")
    try:
        with _readable(args.project) as project:
            report = export(project, output, options, progress=bar.update_count)
    finally:
        bar.close()
    from stancelabel.core.outputs import descriptor_of

    to_stdout = output == "-" or descriptor_of(output) == 1
    say = _err if to_stdout else _out  # standard output holds the records only
    for what, name in report.renamed:
        say(f"  {what} written as {name} (its plain name was taken or too long)")
    where = "standard output" if to_stdout else output
    say(f"{report.records} record(s) from {report.documents} document(s) written to {where} ({fmt})")
    return EXIT_OK


def cmd_split(args: argparse.Namespace) -> int:
    from stancelabel.team.split import split

    with Project.open(args.project) as project:
        report = split(project, args.annotators.split(","), args.overlap, args.seed, args.output)
    for name, path in report.files.items():
        renamed = " (file name changed to be safe and unique)" \
            if name in report.renamed else ""
        _out(f"{name}: {report.documents[name]} document(s) in {path}{renamed}")
    _out(f"{report.shared} document(s) go to everyone (for agreement); the assignment is kept in {args.project}")
    return EXIT_OK


def cmd_merge(args: argparse.Namespace) -> int:
    from stancelabel.team.merge import format_merge, merge

    report = merge(Path(args.output), [Path(p) for p in args.inputs], replace=args.force)
    if args.json:
        _out_json(report.to_json())
    else:
        _out(format_merge(report))
    return EXIT_OK


def cmd_agreement(args: argparse.Namespace) -> int:
    from stancelabel.team.agreement import format_agreement, format_span_agreement, project_agreement

    with _readable(args.project) as project:
        report = project_agreement(project, project.known_annotators(args.annotator or []) or None,
                                    by_target=args.by_target)
    if args.json:
        out = report.overall.to_json()
        out["attributions"] = report.spans
        if args.by_target:
            out["by_target"] = [{"target": target, **result.to_json()} for target, result in report.by_target.items()]
        _out_json(out)
        return EXIT_OK
    _out(format_agreement(report.overall))
    if report.spans:
        _out(format_span_agreement(report.spans))
    for target, result in report.by_target.items():
        _out(format_agreement(result, title=f"target {target!r}: " if target else "no target: "))
    return EXIT_OK


def cmd_adjudicate(args: argparse.Namespace) -> int:
    from stancelabel.server import is_server_url
    from stancelabel.team.adjudicate import adjudicate_auto

    if is_server_url(args.project):
        from stancelabel.server.reading import check_lead, send

        check_lead(args.project)
        with _readable(args.project) as project:
            lead = project.get_setting("server_annotator")
            report = adjudicate_auto(project, args.auto, adjudicator=lead)
            sent = send(project, args.project).pushed_events
        _out(f"{report.decided} gold label(s) set by {args.auto} as {lead}'s and "
             f"{sent} sent to the server; {report.already} already had one; {report.left} disputed and left to "
             f"adjudicate; {report.single} labelled by one annotator only")
        return EXIT_OK
    with Project.open(args.project) as project:
        report = adjudicate_auto(project, args.auto)
    _out(f"{report.decided} gold label(s) set by {args.auto}; {report.already} already had one; "
          f"{report.left} disputed and left to adjudicate; "
          f"{report.single} labelled by one annotator only")
    return EXIT_OK


def cmd_guidelines(args: argparse.Namespace) -> int:
    from stancelabel.io.guidelines import read_guidelines, set_guidelines

    if args.set_file is None:
        with Project.open(args.project, readonly=True) as project:
            text = project.guidelines()
        _out(text.removesuffix("\n"))
        return EXIT_OK
    markdown = read_guidelines(args.set_file)
    with Project.open(args.project) as project:
        found = set_guidelines(project, markdown)
    _out(f"guidelines set ({len(markdown):,} characters)"
         + (f"; label descriptions taken from their sections: {', '.join(found)}" if found else ""))
    return EXIT_OK


def cmd_gui(args: argparse.Namespace) -> int:
    from stancelabel.gui.app import run_gui

    return run_gui(args.project, sample=args.sample)  # a known error reaches main(): one line, exit 1


_COMMANDS = {"import": cmd_import, "detect": cmd_detect, "evaluate": cmd_evaluate, "stats": cmd_stats,
             "guidelines": cmd_guidelines, "export": cmd_export, "agreement": cmd_agreement,
             "adjudicate": cmd_adjudicate, "merge": cmd_merge, "split": cmd_split,
             "gui": cmd_gui}
