from hephaestus.io.parquet import RecordWriter
from hephaestus.records import make_record
from hephaestus.select.corpus import CorpusSplit, hash_sample, read_subset


def test_streamed_sample_equals_the_hash_sample_of_everything(tmp_path):
    files = []
    for f in range(3):
        writer = RecordWriter(tmp_path / f"part-{f}.parquet", batch_rows=50)
        for i in range(120):
            writer.add(make_record(f"web:{f}", "text", f"web document {f}-{i}"))
        writer.add(make_record("openapi:x", "tool_doc", f"GET /items/{f}"))
        writer.close()
        files.append(tmp_path / f"part-{f}.parquet")
    split = CorpusSplit(web_sources=("web:*",))
    everything = read_subset(files, "web", split, ["id", "text"])
    assert everything.num_rows == 360
    streamed = read_subset(files, "web", split, ["id", "text"], limit=40)
    assert streamed.column("id").to_pylist() == hash_sample(everything, 40).column("id").to_pylist()
    pruned = read_subset(files, "web", split, ["id", "text"], limit=7)  # pruned while streaming: > 2 x 7 rows
    assert pruned.column("id").to_pylist() == hash_sample(everything, 7).column("id").to_pylist()
    assert read_subset(files, "seed", split, ["id", "source"]).column("source").to_pylist() == ["openapi:x"] * 3
