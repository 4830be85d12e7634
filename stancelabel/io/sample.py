"""The bundled sample project: the sample article(s) in resources/sample, imported."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from stancelabel.core.errors import StanceLabelError
from stancelabel.core.model import SourceDocument
from stancelabel.core.outputs import Kind, plan_output
from stancelabel.io.importer import ImportOptions, ImportReport, import_sources
from stancelabel.nlp.pipeline import PipelineInfo, load_pipeline
from stancelabel.store.project import Project

#: The claim each sample article's stances are about.
SAMPLE_TARGETS = {"harbourside-water": "Harbourside's drinking water contains unsafe levels of lead"}


def sample_documents() -> list[SourceDocument]:
    """The sample articles shipped with the package."""
    folder = resources.files("stancelabel.resources").joinpath("sample")
    return [
        SourceDocument(external_id=item.name.removesuffix(".txt"), text=item.read_text("utf-8"),
                       source_file=f"stancelabel.resources/sample/{item.name}",
                       title=item.read_text("utf-8").split("\n", 1)[0],
                       target=SAMPLE_TARGETS.get(item.name.removesuffix(".txt")))
        for item in sorted(folder.iterdir(), key=lambda p: p.name) if item.name.endswith(".txt")
    ]


def ensure_sample_project(path: Path, model: str | None = None) -> tuple[PipelineInfo | None, ImportReport | None]:
    """Create the sample project at ``path`` unless it is already there.

    Returns the pipeline and report of the import it ran, or (None, None).
    """
    if path.exists():
        return None, None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StanceLabelError(f"{path.parent}: cannot make the folder for the sample project "
                               f"({error.strerror})") from None
    nlp, info = load_pipeline(model, detect=True)
    # Built beside its name and renamed into place whole (the output policy): a first run that fails (a full
    # disk) leaves no empty sample behind that later runs would take for the real one.
    output = plan_output(path, Kind.PROJECT, replace=False)
    with output.building() as partial:
        with Project.open(partial, create=True, name="Sample project") as project:
            if info.warning is None:
                project.set_setting("pipeline", info.name)  # a fallback is not the project's choice
            report = import_sources(project, sample_documents(), ["(sample)"], ImportOptions(), nlp, info)
        if report.errors or not report.documents_added:
            problem = report.errors[0] if report.errors else "no document was imported"
            raise StanceLabelError(f"{path}: the sample project could not be made: {problem}")
    return info, report
