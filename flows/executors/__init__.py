"""How a run's stages execute: the `newsclean.run.StageExecutor`s.

- `direct.DirectExecutor`: no orchestration; batches in a process pool (inline for one batch).
- `prefect.PrefectExecutor`: each stage a Prefect task, each batch a task handing its work to a
  process pool (imports Prefect: import it only when a flow runs).

A distributed executor belongs here too. Executors change how a run executes, never its outputs.
"""
