"""The one typed settings object for a newsclean run.

Every threshold, size and switch lives here, grouped by pipeline stage, so that a user (or a
scheduled deployment) can see and override the whole behaviour in one place instead of hunting
module constants. The packages `cleaners/` and `dedup/` take only their own section, which keeps
them usable without the rest of newsclean.
"""

from __future__ import annotations

import os
from pathlib import Path

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
    normalization: str | None = "NFC"
    max_file_bytes: int = Field(default=50 * 1024 * 1024, ge=1)
    # ftfy over a whole HTML page in decode_bytes. Off: the page is only decoded and clean_html
    # repairs the article text and metadata it extracts (CleaningOptions.html_fix_text), the
    # same characters at a few percent of the length; scanning a whole page cost ~7 ms a page
    # on the AEB pages, a sixth of trafilatura's own extraction time.
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
    # A line longer than this is prose: no boilerplate rule may remove it. Each rule has its own,
    # lower limit; only a few shapes are that long (a wire photo's caption "In this photo ...").
    max_rule_line_words: int = Field(default=100, ge=1)
    # How far from the top (in non-empty lines) a title / dateline / site header is looked for.
    header_zone_lines: int = Field(default=8, ge=1)
    # Whole-page HTML extraction: trafilatura first, BeautifulSoup text as the fallback.
    html_extractor: str = "trafilatura"
    # "precision" | "recall" | "balanced" (trafilatura's switches). Precision measured best on the
    # AEB pages once the text cleaner runs after it (bench/cleaning.py).
    html_favor: str = "precision"
    # trafilatura's fallback extractors run only when its fast pass finds fewer prose words than
    # this (0: never; a large number: always). 100 measured best; see cleaners.html_page._trafilatura.
    html_fallback_below_words: int = Field(default=100, ge=0)
    # An extraction with fewer words of prose than this is retried without the extractor.
    html_min_prose_words: int = Field(default=50, ge=0)
    # Repair mojibake and invisible damage (newsclean.decode.fix_text) in the text and metadata
    # extracted from a page: decode_bytes leaves HTML pages unrepaired (see DecodeOptions).
    html_fix_text: bool = True
    # Block steps: later copies of a caption-sized line; everything after a comment-section or
    # "related stories" heading in the tail; page chrome around the prose body.
    duplicate_lines: bool = True
    tail_blocks: bool = True
    # Reader comments: from the first of several comment headers ("X on <date> said:") on.
    comment_threads: bool = True
    body_span: bool = True
    # Lines learned from the corpus: a short line (at most `repeated_line_max_words`) found in at
    # least `repeated_line_min_docs` documents of the same outlet is boilerplate. Needs the
    # caller's per-outlet statistics (see cleaners.blocks.repeated_lines); without them it is off.
    repeated_lines: bool = True
    repeated_line_min_docs: int = Field(default=5, ge=2)
    repeated_line_max_words: int = Field(default=20, ge=1)


class DedupSettings(_Section):
    """Thresholds and signature sizes for the three relations (exact, near copy, same event)."""

    seed: int = 1
    # Threads for grouping's passes over candidate pairs (0: one per core). Grouping runs after
    # the cleaning workers are done, in one process; the results are the same on any number.
    threads: int = Field(default=0, ge=0)
    # Allocations of at least this many bytes get a mapping of their own in the group stage,
    # so the holes they leave go back to the OS (dedup.memory.map_large_blocks_apart; 0 leaves
    # the C library's own, moving threshold). Memory only: the results are the same.
    large_block_bytes: int = Field(default=1 << 20, ge=0)
    # Near copies: MinHash over word shingles, LSH for candidates, exact Jaccard/containment to verify.
    near_num_perm: int = Field(default=128, ge=16)
    near_shingle_words: int = Field(default=5, ge=1)
    near_lsh_threshold: float = Field(default=0.5, gt=0, lt=1)
    near_jaccard: float = Field(default=0.7, gt=0, le=1)
    # A shorter text whose shingles lie mostly inside a longer one (a teaser, a cut copy) is a copy.
    # A teaser's own headline and another outlet's furniture add shingles of their own, so the
    # bar is below 0.8. On the near-copy set (bench/dedup.py --sweep) 0.5 / 0.6 / 0.7 / 0.8
    # attached 77 / 75 / 73 / 71 of 78 teasers at copy precision 1.000 throughout; events-dev
    # precision 0.959 / 0.959 / 0.967 / 0.968 (ARI 0.929 / 0.926 / 0.928 / 0.924).
    near_containment: float = Field(default=0.7, gt=0, le=1)
    # Same event: MinHash-LSH over each story's most salient event terms (names, places, numbers,
    # rare words) finds candidates; score = TF-IDF cosine x (term overlap + offset) / (reference +
    # offset) weighs them; average linkage at `linkage_threshold` groups. Chosen on events-dev.
    event_num_perm: int = Field(default=128, ge=16)
    event_terms_per_doc: int = Field(default=40, ge=4)
    event_lsh_threshold: float = Field(default=0.05, gt=0, lt=1)
    # A second candidate signature over each story's top TF-IDF features (0 switches it off).
    topic_terms_per_doc: int = Field(default=20, ge=0)
    topic_lsh_threshold: float = Field(default=0.08, gt=0, lt=1)
    # The overlap factor (overlap + offset) / (reference + offset) ranges from 0.71 to 1.67 at
    # offset 0.75: who and where the two stories share weighs about as much as their wording.
    # That is what keeps undated coverage of one minister's yearly visits apart (between the
    # samples' three meetings the highest average score is 0.161, while the three 2021 stories
    # score 0.224 and more with each other; at offset 2 those were 0.183 and 0.239). An earlier
    # scorer measured offsets 0.5 / 1.0 / 2.0 / 3.0 at ARI 0.911 / 0.912 / 0.922 / 0.919 without
    # crowd scaling. With it (reference 0.29, 90 days) offset 2.0 was best at cut 0.148 (ARI
    # 0.934, P 0.956), below the samples' 0.183, and they merged; at 0.75 the cut stays above
    # their 0.161.
    event_overlap_offset: float = Field(default=0.75, ge=0)
    event_overlap_reference: float = Field(default=0.3, gt=0)
    # Coverage of one event falls within days, a running story within weeks or months: known
    # dates further apart than the window cost event_date_penalty x log2(gap / window) of score
    # (two years apart: 0.2). On events-dev a 7-day window at 0.05 split Giveme5W1H's labelled
    # stories, which run for months (ARI there 0.726; 90 days at 0.1: 0.797; with crowd scaling
    # 90 / 180 / 365 days gave 0.797 / 0.811 / 0.811).
    event_max_days_apart: int = Field(default=180, ge=0)
    event_date_penalty: float = Field(default=0.1, ge=0, le=2)
    # Both dates known and at most event_close_days apart: the score counts (1 + bonus) times.
    # The same window as a breaking story's coverage. Only Giveme5W1H and BASIL carry dates in
    # events-dev; bonus 0 / 0.3 / 0.5 / 0.6 / 1.0 at 1 day: Giveme5W1H ARI 0.811 / 0.877 / 0.877
    # / 0.890 / 0.896 at precision 1.000 throughout; BASIL 0.943 (P 0.913) up to 0.5, 0.947 (P
    # 0.900) from 0.6; overall 0.928 -> 0.931. 0.5 is the largest that costs BASIL no precision.
    # Its price shows on bench/perf_corpus.py's corpora, whose replicas of an event keep its
    # dates, so same-day look-alikes of different events are the rule there: 10k ARI 0.850 ->
    # 0.844 (P 0.936 -> 0.928), 100k 0.718 -> 0.708 (P 0.791 -> 0.770). Set 0 where many
    # different events of one kind are reported on the same day.
    event_close_days: int = Field(default=1, ge=0)
    event_close_bonus: float = Field(default=0.5, ge=0, le=2)
    # Crowd scaling (dedup.grouping.crowd_scaled): a pair's score is multiplied by
    # min(1, reference / sqrt(level_a x level_b)), where an item's level is the mean of its
    # `event_crowd_neighbours` best candidate scores; 0 switches it off. A story on a crowded
    # topic (ECB+'s two Saints players put on injured reserve, two Chargers arrested for drunk
    # driving) must score above its crowd to join it. events-dev (bench/dedup.py --sweep), at
    # offset 0.75, 180 days, cut 0.17: off ARI 0.913 / P 0.908 (cut 0.19: 0.912 / 0.926);
    # reference 0.30 / 0.35 / 0.40 ARI 0.856 / 0.924 / 0.921, P 0.981 / 0.968 / 0.940;
    # 3 / 5 / 8 neighbours ARI 0.870 / 0.924 / 0.927, P 0.959 / 0.968 / 0.948.
    event_crowd_neighbours: int = Field(default=5, ge=0)
    event_crowd_reference: float = Field(default=0.35, gt=0)
    # Each story's strongest edges kept for clustering (dedup.grouping.strongest_edges); 0 keeps
    # every candidate edge. On events-dev 0 / 50 / 100 give the same groups (ARI 0.928), 20
    # drops ARI to 0.858; at 10k perf documents 50 keeps 218k of 929k edges.
    event_edges_per_story: int = Field(default=50, ge=0)
    # Average-linkage cut on the scaled score. events-dev at 0.160 / 0.165 / 0.170 / 0.175:
    # ARI 0.925 / 0.924 / 0.924 / 0.896, precision 0.947 / 0.959 / 0.968 / 0.966. Below 0.165
    # precision falls under 0.95; the undated samples need it above 0.161 (see the offset).
    linkage_threshold: float = Field(default=0.17, gt=0, le=1)
    # A story the linkage left alone joins the cluster its median edge into is highest for when
    # that median reaches this share of the cluster's looseness (its least attached member's
    # average, or the cut if higher; dedup.linkage.attach_lone_items); 0 switches it off.
    # events-dev at 0 / 0.6 / 0.68 / 0.72 / 0.78 / 0.8: ARI 0.931 / 0.937 / 0.935 / 0.935 /
    # 0.934 / 0.932, precision 0.968 / 0.966 / 0.966 / 0.968 / 0.968 / 0.968, Multi-News 0.816,
    # then 0.864 from 0.6 to 0.78, 0.846 at 0.8; the samples need more than 0.667 (their 2023
    # meeting's median against the 2021 accounts is 0.156, the loosest of those averages 0.234).
    lone_story_fit: float = Field(default=0.72, ge=0, le=1)
    # An LSH bucket with more members than this (a term common to thousands of stories) is
    # searched by sorted neighbourhood instead of all pairs: each member is paired with its next
    # cap/2 members in publication-day order, which bounds the pairs per document at about
    # bands x cap / 2 (see dedup.lsh); 0 means no cap. Below that bound they still grow with
    # the corpus: 149 per document at 10k perf documents, 456 at 100k (bench/perf.py).
    lsh_bucket_cap: int = Field(default=100, ge=0)
    # Each story's event candidates that get scored: the ones agreeing with it in the most
    # columns of its event and topic signatures (dedup.grouping.top_candidates, on 8-bit sketches
    # of them); 0 scores every LSH candidate. events-dev ARI at 100 / 120 / 160 / all: 0.924 /
    # 0.928 / 0.928 / 0.928. Perf corpus, event ARI against its construction: 10k 0.850 (all:
    # 0.852); 100k 0.718 at precision 0.791 (all: 0.684 at 0.702: the weakest links merged
    # events), and grouping 100k took 263 s instead of 605 s (45.6 M candidates -> 7.0 M).
    # Ranking by LSH band collisions instead needed 250 to keep events-dev at 0.928 (120: 0.911),
    # and by 2-bit sketches lost ARI (120: 0.905): chance agreement drowns low similarities.
    event_candidates_per_story: int = Field(default=120, ge=0)


class RunSettings(_Section):
    """How a run is executed: batch sizes and worker processes (Prefect-independent)."""

    batch_size: int = Field(default=500, ge=1)
    # Fewer files than this per batch are not worth a worker process of their own (see
    # newsclean.pipeline.batch_count): 500 HTML pages ran in one batch, on one core, at 35
    # pages/s on two cores.
    min_batch_files: int = Field(default=50, ge=1)
    # Batches per worker once there are enough files: more than one, because pages differ in
    # cost (an HTML page costs ten text files, and one page fifty others) and the pool hands a
    # free worker the next batch; not many, because each batch is a Prefect task when the flow
    # runs (70 ms of orchestration each).
    batches_per_worker: int = Field(default=4, ge=1)
    workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)


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
