"""The one typed settings object for a newsclean run.

Every threshold, size and switch lives here, grouped by pipeline stage, so that a user (or a
scheduled deployment) can see and override the whole behaviour in one place. This module is the
bottom layer of the package: the cleaners (`newsclean.cleaners`), dedup (`newsclean.dedup`) and
the pipeline's stages import it, and it imports nothing of newsclean. Cleaners and dedup take
only their own section. How each default was chosen, with its figures, is in
docs/tuning.md.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DecodeOptions(_Section):
    """How bytes become text.

    ftfy options are chosen, not defaulted: news text keeps its typographic quotes (gold strings and
    quotations depend on them), full-width CJK forms stay as published, while the invisible damage
    (control characters, broken line breaks, mojibake, surrogates) is always repaired.
    """

    fix_mojibake: bool = True
    uncurl_quotes: bool = False
    fix_character_width: bool = False
    fix_latin_ligatures: bool = True
    # Unicode normalization form of repaired text (None: none).
    normalization: Literal["NFC", "NFD", "NFKC", "NFKD"] | None = "NFC"
    # A file larger than this (after gzip decompression) is quarantined as "too large" (a safety limit).
    max_file_bytes: int = Field(default=50 * 1024 * 1024, ge=1)
    max_jsonl_bytes: int = Field(default=1024 * 1024 * 1024, ge=1)
    """A JSON Lines file over this (after gzip decompression) is quarantined whole as "too large"."""
    max_record_bytes: int = Field(default=50 * 1024 * 1024, ge=1)
    """A JSON Lines record (one line) over this is quarantined alone as "record too large", by line."""
    # ftfy over a whole HTML page when it is decoded (newsclean.decode). Off: only the text extracted
    # from it is repaired (CleaningOptions.html_fix_text), which is cheaper; see docs/tuning.md.
    repair_html_pages: bool = False


class CleaningOptions(_Section):
    """Switches for each cleaning step; every step is on by default and can be turned off alone."""

    html_comments: bool = True
    markup: bool = True
    boilerplate_lines: bool = True
    photo_blocks: bool = True
    metadata_lines: bool = True
    title_repeat: bool = True
    whitespace: bool = True
    # A line longer than this is prose: no boilerplate rule may remove it (each rule has its own,
    # lower limit). A safety limit; see docs/tuning.md.
    max_rule_line_words: int = Field(default=100, ge=1)
    # How far from the top (in non-empty lines) a title / dateline / site header is looked for.
    header_zone_lines: int = Field(default=8, ge=1)
    # Whole-page HTML extraction: trafilatura first, BeautifulSoup text as the fallback
    # ("beautifulsoup": BeautifulSoup text only).
    html_extractor: Literal["trafilatura", "beautifulsoup"] = "trafilatura"
    # "precision" | "recall" | "balanced": trafilatura's switch. See docs/tuning.md.
    html_favor: Literal["precision", "recall", "balanced"] = "precision"
    # trafilatura's fallback extractors run only when its fast pass finds fewer prose words than
    # this (0: never; a large number: always). See docs/tuning.md.
    html_fallback_below_words: int = Field(default=100, ge=0)
    # An extraction with fewer words of prose than this is retried without the extractor.
    html_min_prose_words: int = Field(default=50, ge=0)
    # Never lose the article: also run trafilatura's balanced pass and keep whichever extraction
    # reads as the article (newsclean.cleaners.article). See docs/tuning.md.
    html_compare_passes: bool = True
    # Repair mojibake and invisible damage (ftfy, with the DecodeOptions settings) in the text and
    # metadata extracted from a page; whole pages are read unrepaired (DecodeOptions.repair_html_pages).
    html_fix_text: bool = True
    # Block steps: later copies of a caption-sized line; everything after a comment-section or
    # "related stories" heading in the tail; page chrome around the prose body.
    duplicate_lines: bool = True
    tail_blocks: bool = True
    # Reader comments: from the first of several comment headers ("X on <date> said:") on.
    comment_threads: bool = True
    body_span: bool = True
    # Lists that are not prose: a run of short lines holding more words than the story's prose
    # (tickers, link lists, tables of names), and teasers ending in a repeated "Full Story".
    list_blocks: bool = True
    # Corpus-learned boilerplate (newsclean.corpus.RepeatedLines): a short line (at most
    # `repeated_line_max_words`) an outlet repeats in at least `repeated_line_min_docs` documents
    # of different event clusters is removed. Off without the run's per-outlet statistics.
    repeated_lines: bool = True
    repeated_line_min_docs: int = Field(default=5, ge=2)
    repeated_line_max_words: int = Field(default=20, ge=1)
    # Corpus furniture (same class): a short line that documents of at least
    # `corpus_line_min_events` event clusters and `corpus_line_min_outlets` outlets carry is
    # removed whatever the outlet; a quote one event's coverage repeats is one cluster. See docs/tuning.md.
    corpus_lines: bool = True
    corpus_line_min_events: int = Field(default=10, ge=2)
    corpus_line_min_outlets: int = Field(default=3, ge=2)


class DedupSettings(_Section):
    """Thresholds and signature sizes for the three relations (exact, near copy, same event)."""

    # Seed of the MinHash permutations: the same seed gives the same signatures and groups.
    seed: int = 1
    # Threads for grouping's passes over candidate pairs (0: one per core); the results are the
    # same on any number. See docs/tuning.md.
    threads: int = Field(default=0, ge=0)
    # Group stage: allocations of at least this many bytes get a mapping of their own
    # (newsclean.dedup.memory.map_large_blocks_apart; 0: glibc's own). Memory only; see docs/tuning.md.
    large_block_bytes: int = Field(default=1 << 20, ge=0)
    # Near copies: MinHash over word shingles, LSH for candidates, exact Jaccard/containment to verify.
    near_num_perm: int = Field(default=128, ge=16)
    near_shingle_words: int = Field(default=5, ge=1)
    near_lsh_threshold: float = Field(default=0.5, gt=0, lt=1)
    near_jaccard: float = Field(default=0.7, gt=0, le=1)
    # A shorter text with at least this share of its shingles inside a longer one (a teaser, a
    # cut copy) is a copy. See docs/tuning.md.
    near_containment: float = Field(default=0.7, gt=0, le=1)
    # Same event: MinHash-LSH over each story's most salient event terms finds candidates; score =
    # TF-IDF cosine x (overlap + offset) / (reference + offset); average linkage at `linkage_threshold`.
    # Chosen on events-dev; see docs/tuning.md.
    event_num_perm: int = Field(default=128, ge=16)
    event_terms_per_doc: int = Field(default=40, ge=4)
    event_lsh_threshold: float = Field(default=0.05, gt=0, lt=1)
    # A second candidate signature over each story's top TF-IDF features (0 switches it off).
    topic_terms_per_doc: int = Field(default=20, ge=0)
    topic_lsh_threshold: float = Field(default=0.08, gt=0, lt=1)
    # The score's offset and reference: a lower offset lets shared event terms (who, where) weigh
    # more against wording, which keeps undated repeat events apart. See docs/tuning.md.
    event_overlap_offset: float = Field(default=0.75, ge=0)
    event_overlap_reference: float = Field(default=0.3, gt=0)
    # Known dates further apart than event_max_days_apart cost event_date_penalty x
    # log2(gap / window) of score (at most 1; not a veto: running stories last months). See docs/tuning.md.
    event_max_days_apart: int = Field(default=180, ge=0)
    event_date_penalty: float = Field(default=0.1, ge=0, le=2)
    # Both dates known and at most event_close_days apart: the score counts (1 + bonus) times.
    # Set event_close_days 0 where many events of one kind share a day; see docs/tuning.md.
    event_close_days: int = Field(default=1, ge=0)
    event_close_bonus: float = Field(default=0.5, ge=0, le=2)
    # Both dates known and more than event_gap_days apart: the score counts event_gap_days / gap
    # times (0: off). See docs/tuning.md.
    event_gap_days: int = Field(default=7, ge=0)
    # Average linkage and lone stories never make a cluster whose dated stories lie more than
    # this many days apart (0: no limit). See docs/tuning.md.
    event_span_days: int = Field(default=30, ge=0)
    # Crowd scaling (newsclean.dedup.grouping.crowd_scaled): score x min(1, reference / sqrt(level_a x
    # level_b)), a level being the mean of an item's best `event_crowd_neighbours` scores; 0: off.
    event_crowd_neighbours: int = Field(default=5, ge=0)
    event_crowd_reference: float = Field(default=0.35, gt=0)
    # Each story's strongest edges kept for clustering (newsclean.dedup.grouping.strongest_edges);
    # 0 keeps every candidate edge. See docs/tuning.md.
    event_edges_per_story: int = Field(default=50, ge=0)
    # Average-linkage cut on the scaled score: clusters merge while their average edge reaches it.
    # See docs/tuning.md.
    linkage_threshold: float = Field(default=0.17, gt=0, le=1)
    # A lone story joins the cluster of its highest median edge when that median reaches this share
    # of the cluster's looseness (newsclean.dedup.linkage.attach_lone_items); 0: off. See docs/tuning.md.
    lone_story_fit: float = Field(default=0.72, ge=0, le=1)
    # An LSH bucket larger than this pairs each member with its next cap/2 in publication-day order
    # (newsclean.dedup.lsh), bounding pairs per document at about bands x cap / 2; 0: no cap.
    lsh_bucket_cap: int = Field(default=100, ge=0)
    # Each story's event candidates that get scored: those agreeing with it in the most signature
    # columns (newsclean.dedup.grouping.top_candidates); 0 scores all. See docs/tuning.md.
    event_candidates_per_story: int = Field(default=120, ge=0)
    # Incremental runs score new documents with the statistics snapshot of the last full
    # grouping or refresh; once the documents added since reach this share of the documents
    # then, the run regroups with fresh statistics, keeping cluster ids (newsclean.stages.group).
    # See docs/tuning.md.
    snapshot_refresh_share: float = Field(default=0.2, gt=0)
    # A refresh takes the fresh clustering as it is: an earlier cluster it divides splits, the
    # part holding most of its documents keeping the id, the others recorded in `splits.jsonl`.
    # Off, the contract's default: clusters only grow or merge. See docs/tuning.md.
    refresh_may_split: bool = False


class RunSettings(_Section):
    """How a run is executed: batch sizes and worker processes (Prefect-independent)."""

    # The most files in one batch of the cleaning workers.
    batch_size: int = Field(default=500, ge=1)
    # Fewer files than this per batch are not worth a worker process of their own (the run's
    # batch_count). See docs/tuning.md.
    min_batch_files: int = Field(default=50, ge=1)
    # Batches per worker once there are enough files: several, so uneven batches balance, but few,
    # since each batch is a Prefect task with its own overhead. See docs/tuning.md.
    batches_per_worker: int = Field(default=4, ge=1)
    # Worker processes that clean and sign the batches (default: one per core).
    workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)
    # Time limit in seconds of each step of a file in the clean stage: reading it, and cleaning
    # each of its documents (a file, or a JSON Lines record). Over it, the file or record is
    # quarantined as "timeout" and the batch goes on; 0: no limit. A safety limit, enforced with
    # SIGALRM where batches run in a main thread (newsclean.stages.clean.StepClock).
    file_seconds: float = Field(default=60.0, ge=0)
    # Which engine executes the run: "local" (this machine: a process pool) or "dask" (a Dask
    # cluster; `pip install 'newsclean[dask]'`, docs/scale-out.md). Execution only, like every
    # setting of this section: the outputs are byte-identical, the run state stays valid.
    engine: Literal["local", "dask"] = "local"
    # The dask engine's scheduler (tcp://HOST:8786); none: a LocalCluster of `workers` processes.
    dask_address: str | None = None
    # Where the dask engine's workers leave their batches: an fsspec URL (a folder, s3://...);
    # none: the run's work folder, which only workers on this machine can reach.
    work_url: str | None = None


class Settings(_Section):
    """Everything a newsclean run needs to know besides its input and output folders."""

    decode: DecodeOptions = DecodeOptions()
    cleaning: CleaningOptions = CleaningOptions()
    dedup: DedupSettings = DedupSettings()
    run: RunSettings = RunSettings()

    @classmethod
    def from_file(cls, path: Path | None) -> Settings:
        """Load overrides from a JSON file (the shape of this model); missing file means defaults."""
        if path is None:
            return cls()
        return cls.model_validate_json(Path(path).read_text(encoding="utf-8"))
