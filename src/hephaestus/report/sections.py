"""The report's sections, in pipeline order, read from a workspace.

A section whose stage has not run is left out and its stage named in `Sections.not_run`; a section whose
files cannot be read is kept with a note saying why, so one bad file never hides the rest of the report.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from hephaestus.report.corpus import (
    classifier_section,
    composition_section,
    curation_section,
    pipeline_section,
    tsne_section,
)
from hephaestus.report.evaluation import evaluation_section, scaling_section
from hephaestus.report.layout import Section
from hephaestus.report.runs import mix_section, pack_section, training_section
from hephaestus.workspace import Workspace

Builder = Callable[[Workspace], Section | None]

# (stage that makes the files, section title when it cannot be read, builder)
BUILDERS: tuple[tuple[str, str, Builder], ...] = (
    ("collect", "Records through the stages", pipeline_section),
    ("curate", "Curation", curation_section),
    ("select", "Corpus composition", composition_section),
    ("select", "t-SNE", tsne_section),
    ("select", "Agent-data classifier", classifier_section),
    ("mix", "Data mixture", mix_section),
    ("pack", "Packed datasets", pack_section),
    ("train", "Training", training_section),
    ("eval", "Evaluation", evaluation_section),
    ("scaling", "Scaling-law fit", scaling_section),
)

log = logging.getLogger(__name__)


@dataclass
class Sections:
    sections: list[Section] = field(default_factory=list)
    not_run: dict[str, list[str]] = field(default_factory=dict)  # stage -> titles of its missing sections


def build_sections(workspace: Workspace) -> Sections:
    """Every section the workspace has the files for; the stages of those it has not, in `not_run`."""
    result = Sections()
    for stage, title, builder in BUILDERS:
        try:
            section = builder(workspace)
        except Exception as error:  # a malformed file is reported in the page, not raised
            log.warning("report: %s: %s: %s", title, type(error).__name__, error)
            section = Section(builder.__name__.removesuffix("_section"), title,
                              notes=[f"Could not read this stage's files: {type(error).__name__}: {error}"])
        if section is None or section.is_empty():
            result.not_run.setdefault(stage, []).append(title)
        else:
            result.sections.append(section)
    return result
