"""datatrove's side of `curate_vs_datatrove.py`: Gopher quality filter + MinHash dedup, timed per stage.

Run by the Python of a separate virtual environment that has datatrove (never Hephaestus's own: datatrove's
pins conflict with ours); this file imports only datatrove, its dependencies and the standard library:

    /tmp/dt-venv/bin/python benchmarks/datatrove_pipeline.py --input CORPUS --work SCRATCH --workers 2

Four `LocalPipelineExecutor` runs, as in datatrove's own `examples/minhash_deduplication.py`:

1. JsonlReader -> GopherQualityFilter (defaults) [-> GopherRepetitionFilter] -> JsonlWriter (filtered) ->
   MinhashDedupSignature; one task per input file, `--workers` processes.
2. MinhashDedupBuckets: one task per bucket, `--workers` processes.
3. MinhashDedupCluster: one task (datatrove requires it).
4. JsonlReader (filtered) -> MinhashDedupFilter -> JsonlWriter (kept); one task per stage-1 task.

MinHash: 5-word shingles, 16 buckets x 8 hashes (128 hashes, like Hephaestus's 16 bands x 8 rows), 64-bit
xxhash, datatrove's default text normalisation. Words come from `--tokenizer`: `spacy` is datatrove's default
for English, `SpaCyTokenizer("en")` (a blank spaCy pipeline, so no model or NLTK data is downloaded; it
tokenises inside a spaCy memory zone per document, which is slow); `regex` is `RegexWordTokenizer` below,
the words Hephaestus's quality filter counts, so that both sides split words alike and at the same cost (with
spaCy, punctuation tokens count as words, and the "80% of words have a letter" rule drops far more). Intermediate
and final JSONL is written uncompressed, the cheapest choice for datatrove. Prints one JSON object: seconds
per stage and in total, documents read, after the filters, and kept.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path
from typing import Any

from datatrove.executor.local import LocalPipelineExecutor
from datatrove.pipeline.dedup.minhash import (
    MinhashConfig,
    MinhashDedupBuckets,
    MinhashDedupCluster,
    MinhashDedupFilter,
    MinhashDedupSignature,
)
from datatrove.pipeline.filters import GopherQualityFilter, GopherRepetitionFilter
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers.jsonl import JsonlWriter
from datatrove.utils.hashing import HashConfig
from datatrove.utils.word_tokenizers import WordTokenizer

WORD = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]+")  # hephaestus.curate.clean.WORD
SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|\n|$)")
SYMBOLS = ("#", "...", "…")


class RegexWordTokenizer(WordTokenizer):
    """The words of Hephaestus's quality filter (`hephaestus.curate.clean.quality_reason`): runs of word
    characters with inner apostrophes, and the symbols Gopher counts; other punctuation is no word. No data needed.
    """

    def __init__(self) -> None:
        super().__init__("en")

    def word_tokenize(self, text: str) -> list[str]:
        return [w for w in WORD.findall(text) if w in SYMBOLS or any(c.isalnum() for c in w)]

    def sent_tokenize(self, text: str) -> list[str]:
        return [s.strip() for s in SENTENCE.findall(text) if s.strip()]

    def span_tokenize(self, text: str) -> list[tuple[int, int]]:
        return [m.span() for m in SENTENCE.finditer(text) if m.group().strip()]


def count_lines(folder: Path) -> int:
    """Documents in the JSONL files of a folder (one per line)."""
    total = 0
    for path in sorted(folder.glob("*.jsonl")):
        with path.open("rb") as handle:
            total += sum(1 for _ in handle)
    return total


def run_pipeline(corpus: Path, work: Path, workers: int, repetition: bool, tokenizer: str) -> dict[str, Any]:
    """Run the four stages on `corpus` (a folder of JSONL files) and time each; outputs go under `work`."""
    files = sorted(corpus.glob("*.jsonl"))
    if not files:
        raise SystemExit(f"{corpus}: no .jsonl files")
    tasks = len(files)  # JsonlReader gives each task whole files: one file per task balances best
    config = MinhashConfig(n_grams=5, num_buckets=16, hashes_per_bucket=8,
                           hash_config=HashConfig(precision=64, hash_fc="xxhash"))
    language: Any = RegexWordTokenizer() if tokenizer == "regex" else "eng"  # "eng": datatrove's SpaCyTokenizer("en")
    filters: list[Any] = [GopherQualityFilter(language=language)]
    if repetition:  # the rules Hephaestus's prose filter has: duplicate lines, duplicate line chars, top 2-4-grams
        filters.append(GopherRepetitionFilter(dup_para_frac=None, dup_para_char_frac=None, dup_n_grams=(),
                                              language=language))
    stages: dict[str, LocalPipelineExecutor] = {
        "signatures": LocalPipelineExecutor(
            pipeline=[JsonlReader(str(corpus), glob_pattern="*.jsonl", compression=None), *filters,
                      JsonlWriter(str(work / "filtered"), output_filename="${rank}.jsonl", compression=None),
                      MinhashDedupSignature(output_folder=str(work / "signatures"), config=config, language=language)],
            tasks=tasks, workers=workers, logging_dir=str(work / "logs" / "signatures")),
        "buckets": LocalPipelineExecutor(
            pipeline=[MinhashDedupBuckets(input_folder=str(work / "signatures"), output_folder=str(work / "buckets"),
                                          config=config)],
            tasks=config.num_buckets, workers=workers, logging_dir=str(work / "logs" / "buckets")),
        "cluster": LocalPipelineExecutor(
            pipeline=[MinhashDedupCluster(input_folder=str(work / "buckets"), output_folder=str(work / "remove"),
                                          config=config)],
            tasks=1, workers=1, logging_dir=str(work / "logs" / "cluster")),
        "filter": LocalPipelineExecutor(
            pipeline=[JsonlReader(str(work / "filtered"), glob_pattern="*.jsonl", compression=None),
                      MinhashDedupFilter(input_folder=str(work / "remove")),
                      JsonlWriter(str(work / "kept"), output_filename="${rank}.jsonl", compression=None)],
            tasks=tasks, workers=workers, logging_dir=str(work / "logs" / "filter")),
    }
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    for name, executor in stages.items():
        stage_started = time.perf_counter()
        executor.run()
        seconds[name] = round(time.perf_counter() - stage_started, 2)
        if name == "signatures" and len(list((work / "filtered").glob("*.jsonl"))) != tasks:
            raise SystemExit("a stage-1 task kept no document: stage 4 would pair files and ranks wrongly")
    total = time.perf_counter() - started
    return {"tool": "datatrove", "tokenizer": tokenizer, "tasks": tasks, "workers": workers,
            "repetition_filter": repetition,
            "seconds": round(total, 2), "stage_seconds": seconds, "docs_in": count_lines(corpus),
            "docs_after_filters": count_lines(work / "filtered"), "docs_kept": count_lines(work / "kept")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", type=Path, required=True, help="folder of JSONL files with a `text` field")
    parser.add_argument("--work", type=Path, required=True, help="an empty scratch folder")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repetition", action=argparse.BooleanOptionalAction, default=True,
                        help="also run GopherRepetitionFilter with the rules Hephaestus's quality filter has")
    parser.add_argument("--tokenizer", choices=("spacy", "regex"), default="spacy",
                        help="spacy: datatrove's default English word tokenizer; regex: Hephaestus's word pattern")
    args = parser.parse_args()
    print(json.dumps(run_pipeline(args.input, args.work, args.workers, args.repetition, args.tokenizer)))


if __name__ == "__main__":
    main()
