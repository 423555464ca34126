"""What a run tells people: the console summary, the Prefect summary, the canonical Markdown."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RunSummary:
    """Figures of one run; `seconds` is wall time per stage (not written to clean/: not stable)."""

    files: int
    documents: int
    quarantined: int
    quarantine_reasons: dict[str, int]
    clusters: int
    canonical_documents: int
    relations: dict[str, int]
    removed: dict[str, int]
    candidate_pairs: int
    files_cleaned: int = 0
    files_unchanged: int = 0
    files_deleted: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    # Cleaning-stage time by phase, summed over the worker processes (CPU seconds, roughly).
    worker_seconds: dict[str, float] = field(default_factory=dict)
    out_dir: str = ""
    # Nothing was new, changed or deleted and the outputs were as the last run left them: the
    # run stopped after its plan.
    outputs_current: bool = False
    # What the run recovered from and the user should know (a corrupt run state set aside, a
    # lock taken over from a run that is gone).
    warnings: list[str] = field(default_factory=list)
    # What the group stage did (newsclean.stages.group): its mode (full, refresh, incremental)
    # and, for an incremental run, documents new, departed, joining an existing cluster, clusters
    # merged and made, and the statistics snapshot's run and time; for a refresh, clusters merged
    # and documents split off.
    grouping: dict[str, Any] = field(default_factory=dict)

    def grouping_line(self) -> str:
        """What grouping did, in one line (empty when the run regrouped nothing)."""
        g = self.grouping
        if not g:
            return ""
        mode = g.get("mode", "")
        if mode != "incremental":
            merged, split = int(g.get("merged", 0)), int(g.get("split", 0))
            why = f" ({g['reason']})" if g.get("reason") and mode == "refresh" else ""
            extra = f", {merged} cluster ids retired into older ones" if merged else ""
            extra += f", {split} documents split off their clusters (splits.jsonl)" if split else ""
            return f"grouping: {mode}{why}{extra}"
        return (
            f"grouping: incremental, {int(g.get('new', 0))} new documents, {int(g.get('departed', 0))} left "
            f"({g.get('changed_files', 0)} new or changed files, {g.get('deleted_files', 0)} deleted); "
            f"{int(g.get('joined', 0))} joined existing clusters, {int(g.get('merged', 0))} clusters merged, "
            f"{int(g.get('new_clusters', 0))} new clusters, {int(g.get('canonical_changed', 0))} canonicals "
            f"changed; statistics snapshot of run {g.get('snapshot_run')} ({g.get('snapshot_time')})"
        )

    def one_line(self) -> str:
        return (
            f"{self.files} files ({self.files_cleaned} new or changed, {self.files_deleted} deleted): "
            f"{self.documents} documents, {self.quarantined} "
            f"quarantined; {self.clusters} clusters, {self.canonical_documents} canonical documents "
            f"in {self.seconds.get('total', 0.0):.2f}s"
        )

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def markdown(self) -> str:
        """The run's summary as Markdown: the Prefect UI artifact and the --report output."""
        lines = [
            "# newsclean run",
            "",
            "| figure | value |",
            "|---|---|",
            f"| files read | {self.files} |",
            f"| files cleaned (new or changed) | {self.files_cleaned} |",
            f"| files unchanged since last run | {self.files_unchanged} |",
            f"| files deleted since last run | {self.files_deleted} |",
            f"| documents cleaned | {self.documents} |",
            f"| quarantined | {self.quarantined} |",
            f"| clusters | {self.clusters} |",
            f"| canonical documents | {self.canonical_documents} |",
            f"| candidate pairs examined | {self.candidate_pairs} |",
            f"| seconds | {self.seconds.get('total', 0.0):.2f} |",
            "",
        ]
        lines += [f"**Warning:** {warning}" for warning in self.warnings]
        if self.warnings:
            lines.append("")
        if self.quarantine_reasons:
            lines += [
                "**Warning: some input was quarantined** (see `quarantine.jsonl`).",
                "",
                "| reason | count |",
                "|---|---|",
            ]
            lines += [f"| {k} | {v} |" for k, v in self.quarantine_reasons.items()]
            lines.append("")
        lines += ["| relation | documents |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in self.relations.items()]
        lines += ["", "| removed artifact | count |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in self.removed.items()]
        lines += ["", "| stage | seconds |", "|---|---|"]
        lines += [f"| {k} | {v:.3f} |" for k, v in self.seconds.items()]
        return "\n".join(lines) + "\n"


def canonical_markdown(row: dict[str, Any]) -> str:
    """A canonical document for people to read: title, date, sources, text."""
    title = row.get("title") or "(untitled)"
    lines = [f"# {title}", ""]
    if row.get("published"):
        lines += [f"Published: {row['published']}", ""]
    lines += ["Sources:", ""]
    for source in row["sources"]:
        outlet = source.get("outlet") or "unknown outlet"
        where = source.get("url") or source["source_path"]
        relation = source["relation"].replace("_", " ")
        similarity = (
            f", similarity {source['similarity']:.2f}" if source.get("similarity") is not None else ""
        )
        lines.append(f"- {outlet}: {where} ({relation}{similarity})")
    lines += ["", "---", "", row["text"], ""]
    return "\n".join(lines)
