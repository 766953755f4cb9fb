"""The engine: the stages of a run, one module each, and the local orchestrator (`run`).

table        the corpus as compact per-unit arrays, level by level
texts        its distinct texts, every level's at once, and their band keys (on disk when large)
fingerprint  1. read, segment, normalize, fingerprint (worker processes): a batch at a time
             (prints), its units cut at once (layout), word MinHash from its words (windows)
candidates   2. LSH candidate pairs per level
verify       3. exact verification of every candidate a decision reads (worker processes)
resolve      4. top-down clustering, boilerplate; children: what a survivor repeats
quote        5. the texts the report quotes
result       6. the Result, and the cleaned documents
run          the stages composed on one machine
incremental  the check of a change: only the changed files read when that is enough
closed       whether a change is closed: what the incremental check asks of a changed file
             (its entries read unit by unit: entries; texts it adds verified: resembling)
"""

from dedup.engine.incremental import check
from dedup.engine.run import index_params, index_stats, run, update_index, without_cycle_collection

__all__ = [
    "check",
    "index_params",
    "index_stats",
    "run",
    "update_index",
    "without_cycle_collection",
]
