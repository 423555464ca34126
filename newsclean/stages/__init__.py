"""The run's stages, one module each, in the order data flows: plan → clean → group → write.

Stages exchange files, not lists of documents; each has an on-disk contract that can be
inspected when a run goes wrong:

- `plan`: the raw folder against the run state → `RunPlan` (batches of new and changed files).
- `clean`: a `BatchSpec` → a batch file in the work folder (one JSON line per document or
  quarantine record, each document with its signature and line keys) → the run state.
- `group`: the run state → `documents.jsonl`, `quarantine.jsonl` and `groups.json` in the work
  folder (corpus-learned lines removed, every document assigned to a cluster).
- `write`: the work folder → the output contract in the output folder.

How stages execute (inline, in a process pool, as Prefect tasks) is an executor's choice
(`newsclean.run.StageExecutor`); the functions and the outputs are the same either way.
"""
