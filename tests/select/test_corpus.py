from hephaestus.io.parquet import RecordWriter
from hephaestus.records import make_record
from hephaestus.select.corpus import CorpusSplit, hash_sample, read_subset


def test_streamed_sample_equals_the_hash_sample_of_everything(tmp_path):
    files = []
    for f in range(3):
        writer = RecordWriter(tmp_path / f"part-{f}.parquet", batch_rows=50)
        for i in range(120):
            writer.add(make_record(f"web:{f}", "text", f"web document {f}-{i}"))
        if f == 2:  # records with the ids of file 0's: hashes tie, and the first in file order are sampled first
            for i in range(60):
                writer.add(make_record("web:0", "text", f"web document 0-{i}"))
        writer.add(make_record("openapi:x", "tool_doc", f"GET /items/{f}"))
        writer.close()
        files.append(tmp_path / f"part-{f}.parquet")
    split = CorpusSplit(web_sources=("web:*",))
    everything = read_subset(files, "web", split, ["id", "text"])
    assert everything.num_rows == 420
    for limit in range(1, 425):  # every cut, including those between two rows of one hash
        sample = read_subset(files, "web", split, ["id", "text"], limit=limit)
        assert sample.num_rows == min(limit, 420)
        assert sample.to_pylist() == hash_sample(everything, limit).to_pylist()
    assert read_subset(files, "seed", split, ["id", "source"]).column("source").to_pylist() == ["openapi:x"] * 3
