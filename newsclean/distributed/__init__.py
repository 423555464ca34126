"""The distributed engine's stages (`newsclean run --engine dask`): the local stages' work split
into partitions that run as Dask tasks, each equal to the local function it stands for.

- `clean`: clean + sign a batch on a worker; its results go through a Parquet file at an fsspec
  URL (a local folder or an object store), so workers need no file system shared with the run;
- `stats`: corpus statistics (document frequencies, TF-IDF rows) as a distributed reduce;
- `lsh`: LSH candidate pairs as a shuffle on (band, key), the union partitioned by pair;
- `components`: connected components of the edge graph as a tree reduce of spanning forests,
  then each part's clustering in parallel (clusters never cross parts, `dedup/linkage.py`).
- `grouping`: grouping's pair steps (`DaskGraphSteps`): candidates, per-story choices, scores
  and edges over blocks of pairs, clustering per component, with the library's block functions.

Every function here calls the dedup library's own functions for the rules (bands, keys, windows,
linkage, lone items): the partitioning is this package's, the decisions are the library's, so
the distributed results stay equal to the local ones as the rules change (tests/distributed
compares them at run time). Imports Dask: only the dask engine imports this package.
"""
