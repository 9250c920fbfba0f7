import pyarrow as pa
import pyarrow.compute as pc

from hephaestus.records import make_record, records_to_table
from hephaestus.stats import ShardStats, check
from hephaestus.steps import AttributeSink, Drop, FilterStep, MapStep, ScoreStep, run_steps


class MemorySink(AttributeSink):
    def __init__(self):
        self.rows = {}

    def write(self, name, ids, columns):
        for i, record_id in enumerate(ids.to_pylist()):
            self.rows[record_id] = {column: values[i].as_py() for column, values in columns.items()}


def _batches():
    texts = ["short", "a much longer document about APIs", "", "another long enough document"]
    records = [make_record("s", "text", t or "placeholder") for t in texts]
    records[2]["text"] = "   "
    return records_to_table(records).to_batches(max_chunksize=2)


def test_map_score_filter_count_every_row_and_keep_the_invariant():
    sink = MemorySink()
    stats = ShardStats("t")
    steps = [
        MapStep("strip", lambda r: Drop("empty") if not r["text"].strip() else {**r, "text": r["text"].strip()}),
        ScoreStep("length", lambda batch: {"chars": pc.utf8_length(batch.column("text"))}, sink),
        FilterStep("too_short", lambda batch: pc.greater_equal(pc.utf8_length(batch.column("text")), 10)),
    ]
    out = pa.Table.from_batches(list(run_steps(_batches(), steps, stats)))
    assert out.column("text").to_pylist() == ["a much longer document about APIs", "another long enough document"]
    result = stats.to_dict()
    check(result)
    assert (result["records_in"], result["records_out"], result["drops"]) == (4, 2, {"empty": 1, "too_short": 1})
    assert sorted(v["chars"] for v in sink.rows.values()) == [5, 28, 33]
    assert result["samples"]["too_short"][0].endswith("short")
