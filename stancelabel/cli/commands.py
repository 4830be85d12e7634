"""The command implementations behind `stancelabel`; each returns an exit code."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from stancelabel.cli.main import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK
from stancelabel.cli.progress import ImportProgressBar
from stancelabel.core.errors import StanceLabelError
from stancelabel.store.project import Project


def run(args: argparse.Namespace) -> int:
    return _COMMANDS[args.command](args)


def _interrupted(summary: str, interrupted: bool) -> bool:
    """Print a run's summary: on stderr with how to continue when it was interrupted."""
    if interrupted:
        print(f"{summary}. Interrupted: run the same command again to continue.", file=sys.stderr)
    else:
        print(summary)
    return interrupted


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def cmd_import(args: argparse.Namespace) -> int:
    from stancelabel.io.importer import ImportOptions, ImportReport, import_sources, read_sources

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
        print(f"error: {message}", file=sys.stderr)
    if pipeline is None:
        print("error: nothing to import; the project was not changed", file=sys.stderr)
        return EXIT_ERROR
    summary = (f"{report.documents_added} document(s) imported ({report.sentences_added} sentences, "
               f"{report.attributions_added} attributions) with {pipeline.name} {pipeline.version}")
    if report.documents_present:
        summary += f"; {report.documents_present} skipped as duplicate text (already in the project or repeated)"
    if _interrupted(summary, report.interrupted):
        return EXIT_INTERRUPTED
    if report.errors:
        print(f"error: {len(report.errors)} file(s) or path(s) could not be imported; see above", file=sys.stderr)
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
        print(f"error: {message}", file=sys.stderr)
    if args.json:
        print(json.dumps(evaluation.as_dict(), indent=2))
    else:
        print(format_evaluation(evaluation))
    return EXIT_ERROR if errors else EXIT_OK


def cmd_stats(args: argparse.Namespace) -> int:
    with Project.open(args.project, readonly=True) as project:
        stats = project.stats()
    if args.json:
        print(json.dumps(stats, ensure_ascii=False, indent=2))
        return EXIT_OK
    print(f"{stats['project']}: {stats['documents']} documents, {stats['sentences']} sentences, "
          f"{stats['attributions']} attributions, {stats['labels']} labels")
    if stats["targets"]:
        print(f"  targets: {stats['targets']} ({stats['documents_with_target']} documents have one)")
    if stats["assignment"]:
        a = stats["assignment"]
        print(f"  {a['annotator']}'s share of {a['source_project']}: {a['documents']} documents "
              f"({a['shared_documents']} shared with everyone)")
    if stats["split"]:
        print(f"  split among {', '.join(stats['split']['annotators'])} (overlap {stats['split']['overlap']})")
    for title, key in (("by origin", "by_origin"), ("by annotator", "by_annotator"), ("by label", "by_label")):
        if stats[key]:
            print(f"  {title}: " + ", ".join(f"{k} {v}" for k, v in stats[key].items()))
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from stancelabel.io.export import ExportOptions, export, format_for

    output = Path(args.output)
    fmt = args.format or format_for(output)
    options = ExportOptions(format=fmt, annotators=args.annotator, gold=args.gold, all=args.all,
                            labels=args.label, flagged=args.flagged, raw=args.raw, bom=args.bom,
                            per_doc=args.per_doc)
    bar = ImportProgressBar("exporting", unit="records")
    try:
        with Project.open(args.project, readonly=True) as project:
            report = export(project, output, options, progress=bar.update_count)
    finally:
        bar.close()
    print(f"{report.records} record(s) from {report.documents} document(s) written to {output} ({fmt})")
    return EXIT_OK


def cmd_split(args: argparse.Namespace) -> int:
    from stancelabel.team.split import split

    with Project.open(args.project) as project:
        report = split(project, args.annotators.split(","), args.overlap, args.seed, Path(args.output))
    for name, path in report.files.items():
        print(f"{name}: {report.documents[name]} document(s) in {path}")
    print(f"{report.shared} document(s) go to everyone (for agreement); the assignment is kept in {args.project}")
    return EXIT_OK


def cmd_merge(args: argparse.Namespace) -> int:
    from stancelabel.team.merge import format_merge, merge

    report = merge(Path(args.output), [Path(p) for p in args.inputs], replace=args.force)
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        print(format_merge(report))
    return EXIT_OK


def cmd_agreement(args: argparse.Namespace) -> int:
    from stancelabel.team.agreement import (
        agreement, agreement_of_columns, format_agreement, format_span_agreement, span_agreement,
    )

    with Project.open(args.project, readonly=True) as project:
        labels = [label.name for label in project.labels()]
        overall = agreement_of_columns(*project.label_columns(), args.annotator or None, labels)
        spans = span_agreement(project, args.annotator or None)
        by_target = {}
        if args.by_target:
            grouped: dict = {}
            for (target, item), ratings in project.labels_by_item(by_target=True).items():
                grouped.setdefault(target, {})[item] = ratings
            by_target = {target: agreement(items, args.annotator or None, labels)
                         for target, items in sorted(grouped.items(), key=lambda x: (x[0] is None, x[0] or ""))}
    if args.json:
        out = overall.to_json()
        out["attributions"] = spans
        if args.by_target:
            out["by_target"] = [{"target": target, **result.to_json()} for target, result in by_target.items()]
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return EXIT_OK
    print(format_agreement(overall))
    if spans:
        print(format_span_agreement(spans))
    for target, result in by_target.items():
        print(format_agreement(result, title=f"target {target!r}: " if target else "no target: "))
    return EXIT_OK


def cmd_adjudicate(args: argparse.Namespace) -> int:
    from stancelabel.team.adjudicate import adjudicate_auto

    with Project.open(args.project) as project:
        report = adjudicate_auto(project, args.auto)
    print(f"{report.decided} gold label(s) set by {args.auto}; {report.already} already had one; "
          f"{report.left} disputed and left to adjudicate; "
          f"{report.single} labelled by one annotator only")
    return EXIT_OK


def cmd_guidelines(args: argparse.Namespace) -> int:
    from stancelabel.core.labels import descriptions_from_guidelines
    from stancelabel.io.textfile import decode, read_text

    if args.set_file is None:
        with Project.open(args.project, readonly=True) as project:
            text = project.guidelines()
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return EXIT_OK
    if args.set_file == "-":
        markdown, _ = decode(Path("<stdin>"), sys.stdin.buffer.read())
    else:
        markdown = read_text(Path(args.set_file))
    if not markdown.strip():
        raise StanceLabelError(f"{args.set_file}: the file is empty; the guidelines were not changed")
    with Project.open(args.project) as project:
        labels = project.labels()
        found = descriptions_from_guidelines(markdown, [label.name for label in labels])
        with project.transaction():
            project.set_guidelines(markdown)
            if found:
                project.save_labels([replace(label, description=found.get(label.name, label.description))
                                     for label in labels])
    print(f"guidelines set ({len(markdown):,} characters)"
          + (f"; label descriptions taken from their sections: {', '.join(found)}" if found else ""))
    return EXIT_OK


def cmd_gui(args: argparse.Namespace) -> int:
    from stancelabel.gui.app import run_gui

    try:
        return run_gui(args.project, sample=args.sample)
    except StanceLabelError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR


_COMMANDS = {"import": cmd_import, "detect": cmd_detect, "evaluate": cmd_evaluate, "stats": cmd_stats,
             "guidelines": cmd_guidelines, "export": cmd_export, "agreement": cmd_agreement,
             "adjudicate": cmd_adjudicate, "merge": cmd_merge, "split": cmd_split,
             "gui": cmd_gui}
