"""The bundled sample project: the sample article(s) in resources/sample, imported."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from stancelabel.core.model import SourceDocument
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
    path.parent.mkdir(parents=True, exist_ok=True)
    nlp, info = load_pipeline(model, detect=True)
    with Project.open(path, create=True, name="Sample project") as project:
        if info.warning is None:
            project.set_setting("pipeline", info.name)  # a fallback is not the project's choice
        report = import_sources(project, sample_documents(), ["(sample)"], ImportOptions(), nlp, info)
    return info, report
