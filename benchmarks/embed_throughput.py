"""End-to-end embedding docs/s on real web text: read JSONL, tokenise, encode, write float16 .npy.

A sample of --docs documents is drawn evenly from the JSONL web text of ../shared/data/webtext (cycled
when more are asked for than exist) and written to one JSONL file; the timed part reads that file,
embeds it --chunk documents at a time and saves the vectors as float16. Model loading is timed apart.
On a CUDA machine the sentence-transformer runs there in bf16 with big batches.

    .venv/bin/python benchmarks/embed_throughput.py --docs 500 --embedders default hashing
    .venv/bin/python benchmarks/embed_throughput.py --docs 50000 --batch-size 1024   # on a GPU
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from hephaestus.io.readers import Rejected, iter_jsonl
from hephaestus.select.embed import Embedder, SentenceTransformerEmbedder, load_embedder

REPO = Path(__file__).resolve().parents[1]


def texts_of(path: Path) -> list[str]:
    """The `text` field of every valid JSON line in `path`."""
    return [
        item[1]["text"]
        for item in iter_jsonl(str(path))
        if not isinstance(item, Rejected) and isinstance(item[1], dict) and isinstance(item[1].get("text"), str)
    ]


def web_texts(source: Path) -> list[str]:
    """The `text` field of every valid JSON line of the JSONL files under `source` (a folder or one file)."""
    files = sorted(source.rglob("*.jsonl*")) if source.is_dir() else [source]
    return [text for path in files for text in texts_of(path)]


def write_sample(source: Path, docs: int, target: Path) -> float:
    """Write `docs` documents drawn evenly (cycled if needed) from the web text under `source`; return their
    mean length."""
    pool = web_texts(source)
    if not pool:
        raise SystemExit(f"no JSONL web text in {source}")
    step = len(pool) / docs
    sample = [pool[int(i * step)] for i in range(docs)]
    target.write_text("".join(json.dumps({"text": text}) + "\n" for text in sample), encoding="utf-8")
    return sum(map(len, sample)) / docs


def measure(embedder: Embedder, corpus: Path, out: Path, chunk: int, batch_size: int | None) -> dict[str, object]:
    """Read, embed and save `corpus`; return docs/s of the whole path and CPU ms per doc (all threads)."""
    embedder.encode(texts_of(corpus)[:8], batch_size)  # warm-up: first-call allocations and kernels
    started, cpu_started = time.perf_counter(), time.process_time()
    texts = texts_of(corpus)
    vectors = np.concatenate([embedder.encode(texts[i : i + chunk], batch_size) for i in range(0, len(texts), chunk)])
    np.save(out, vectors.astype(np.float16), allow_pickle=False)
    seconds, cpu_ms = time.perf_counter() - started, (time.process_time() - cpu_started) * 1000
    return {
        "docs": len(texts),
        "seconds": round(seconds, 2),
        "docs_per_s": round(len(texts) / seconds, 1),
        "cpu_ms_per_doc": round(cpu_ms / len(texts), 2),
    }


def describe(embedder: Embedder) -> dict[str, object]:
    """Name, dimension and, for a sentence-transformer, device, dtype and sequence length."""
    info: dict[str, object] = {"embedder": embedder.name, "dim": embedder.dim}
    if isinstance(embedder, SentenceTransformerEmbedder):
        import torch

        info |= {"device": embedder.device, "dtype": embedder.dtype, "max_seq_length": embedder.model.max_seq_length}
        info["torch_threads"] = torch.get_num_threads()
    return info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--texts", type=Path, help="a JSONL file of web text (default: --shared's webtext)")
    parser.add_argument("--docs", type=int, default=500)
    parser.add_argument("--embedders", nargs="+", default=["default", "hashing"])
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--max-seq-length", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=None, help="default: 32 on the CPU, 512 on CUDA")
    parser.add_argument("--chunk", type=int, default=4096, help="documents read and embedded per step")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "sample.jsonl"
        mean_chars = write_sample(args.texts or args.shared / "webtext", args.docs, corpus)
        print(f"sample: {args.docs} documents, {mean_chars:,.0f} characters on average; {platform.machine()}")
        for spec in args.embedders:
            started = time.perf_counter()
            embedder = load_embedder(spec, args.device, args.max_seq_length)
            load_s = round(time.perf_counter() - started, 2)
            result = measure(embedder, corpus, Path(tmp) / "vectors.npy", args.chunk, args.batch_size)
            print(json.dumps({**describe(embedder), "load_s": load_s, **result}))


if __name__ == "__main__":
    main()
