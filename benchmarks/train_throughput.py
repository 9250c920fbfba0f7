"""Training tokens/s and MFU of our loop against the plain Hugging Face loop, side by side in one run (issue 5).

The plain loop is what a user would write: `LlamaForCausalLM` with SDPA, fused AdamW, bf16 autocast over fp32
weights (or weights cast to bf16: `plain-bf16`), no compile, no document masking, `labels=input_ids`. Ours is
`hephaestus.train.loop.train` with document masking on, fp32 master weights and bf16 autocast, with the
attention implementation and `torch.compile` of the variant. Every variant runs in a fresh process (clean
compile caches and peak memory) on the same packed real text; tokens/s is the median over the steps after
the warm-up. MFU = tokens/s × FLOPs per token (6·N + causal attention) / the bf16 matmul peak measured on
the device in the same run.

Prepare the packed data once (CPU; web text of ../shared/data tokenised with a 32k BPE, sequences of 2,048):

    .venv/bin/python benchmarks/train_throughput.py prepare --out bench-data/train-pack

then, on the GPU machine (`PYTHONPATH=src`; a CPU smoke run: `--sizes tiny --device cpu --steps 3`):

    python benchmarks/train_throughput.py run --pack bench-data/train-pack --sizes 134m 1.1b --out $OUT
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

    from hephaestus.pack.packer import PackedDataset

REPO = Path(__file__).resolve().parents[1]
SIZES = {  # hidden, layers, heads, kv heads, intermediate; vocab 32,000, untied embeddings
    "tiny": (64, 2, 4, 4, 160),
    "134m": (768, 12, 12, 12, 2048),
    "1.1b": (2048, 22, 32, 4, 5632),  # the TinyLlama shape
}
VARIANTS = ("plain", "plain-bf16", "ours-sdpa", "ours-sdpa-compile", "ours-flex-compile")


def prepare(args: argparse.Namespace) -> None:
    """Train a BPE on the shared web text and pack it (repeated to --tokens) into --out."""
    from embed_throughput import web_texts
    from hephaestus.pack.packer import PackWriter
    from hephaestus.pack.tokenizer import train_bpe

    texts = [text for text in web_texts(args.texts or args.shared / "webtext") if text.strip()]
    tokenizer = train_bpe(texts, args.vocab, args.out / "tokenizer")
    ids = tokenizer.encode_batch(texts)
    writer, written = PackWriter(args.out, args.seq_len, args.vocab, tokenizer.eos_id), 0
    while written < args.tokens:
        for doc in ids:
            writer.add(doc)
            written += len(doc) + 1
    print(json.dumps({"documents": len(texts), **writer.close()}))


def one(args: argparse.Namespace) -> None:
    """Run one variant of one size; print its figures as one JSON line."""
    import torch
    from transformers import LlamaConfig

    from hephaestus.pack.packer import PackedDataset
    from hephaestus.train.loop import TrainConfig, train
    from hephaestus.train.model import count_parameters, proxy
    from hephaestus.train.throughput import flops_per_token, measure_peak_flops

    device = torch.device(args.device)
    data = PackedDataset(args.pack)
    hidden, layers, heads, kv_heads, intermediate = SIZES[args.size]
    config = LlamaConfig(vocab_size=32_000, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                         num_key_value_heads=kv_heads, intermediate_size=intermediate,
                         max_position_embeddings=data.seq_len, use_cache=False)
    attention = "flex_attention" if "flex" in args.variant else "sdpa"
    torch.manual_seed(0)
    model = proxy(config, torch.bfloat16 if args.variant == "plain-bf16" else torch.float32, attention)
    flops, params = flops_per_token(model, data.seq_len), count_parameters(model)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    steps = args.warmup + args.steps
    if args.variant.startswith("plain"):
        speeds = plain_loop(model.to(device), data, args.batch, steps, device)
    else:
        with tempfile.TemporaryDirectory() as out:
            run = TrainConfig(out_dir=Path(out), steps=steps, batch_size=args.batch, compile="compile" in args.variant,
                              device=args.device, log_every=10**9)
            train(model, data, run)
            speeds = [json.loads(line)["tokens_per_s"] for line in (Path(out) / "metrics.jsonl").open()]
    tokens_per_s = statistics.median(speeds[args.warmup:])
    peak = measure_peak_flops(device)
    print(json.dumps({"size": args.size, "variant": args.variant, "parameters": params, "tokens_per_s": tokens_per_s,
                      "mfu": tokens_per_s * flops / peak, "peak_tflops": peak / 1e12,
                      "peak_memory_gib": torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda"
                      else None}))


def plain_loop(model: torch.nn.Module, data: PackedDataset, batch: int, steps: int,
               device: torch.device) -> list[float]:
    """The loop a user would write; tokens/s of every step."""
    import torch

    from hephaestus.train.data import Batches

    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4, fused=device.type == "cuda")
    batches, speeds = Batches(data, batch), []
    for _ in range(steps):
        started = time.perf_counter()
        input_ids = next(batches)["input_ids"].to(device)
        with torch.autocast(device.type, torch.bfloat16, enabled=device.type == "cuda"):
            loss = model(input_ids=input_ids, labels=input_ids).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        speeds.append(input_ids.numel() / (time.perf_counter() - started))
    return speeds


def run(args: argparse.Namespace) -> None:
    """Every variant of every size in its own process; a table of tokens/s, MFU and the ratio to `plain`."""
    results = []
    for size in args.sizes:
        for variant in args.variants:
            command = [sys.executable, __file__, "one", "--pack", str(args.pack), "--size", size, "--variant", variant,
                       "--batch", str(args.batch.get(size, 8)), "--steps", str(args.steps),
                       "--warmup", str(args.warmup), "--device", args.device]
            done = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
            lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
            result = json.loads(lines[-1]) if done.returncode == 0 and lines else {
                "size": size, "variant": variant, "error": done.stderr.strip().splitlines()[-1:]}
            print(json.dumps(result), flush=True)
            results.append(result)
    table = ["| size | variant | tokens/s | × plain | MFU | peak memory |", "| --- | --- | --- | --- | --- | --- |"]
    for r in results:
        base = next((p["tokens_per_s"] for p in results if p["size"] == r["size"] and p["variant"] == "plain"
                     and "tokens_per_s" in p), None)
        if "error" in r:
            table.append(f"| {r['size']} | {r['variant']} | failed: {r['error']} | | | |")
            continue
        memory = f"{r['peak_memory_gib']:.1f} GiB" if r["peak_memory_gib"] is not None else "n/a"
        ratio = f"{r['tokens_per_s'] / base:.2f}×" if base else "n/a"
        table.append(f"| {r['size']} | {r['variant']} | {r['tokens_per_s']:,.0f} | {ratio} | {r['mfu']:.1%} | "
                     f"{memory} |")
    print("\n".join(table))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "train_throughput.json").write_text(json.dumps(results, indent=2) + "\n")
        (args.out / "train_throughput.md").write_text("\n".join(table) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("prepare")
    make.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    make.add_argument("--texts", type=Path, help="a JSONL file of web text (default: --shared's webtext)")
    make.add_argument("--out", type=Path, required=True)
    make.add_argument("--vocab", type=int, default=32_000)
    make.add_argument("--seq-len", type=int, default=2048)
    make.add_argument("--tokens", type=int, default=4_000_000)
    for name, command in (("run", commands.add_parser("run")), ("one", commands.add_parser("one"))):
        command.add_argument("--pack", type=Path, required=True)
        command.add_argument("--steps", type=int, default=20, help="timed steps after the warm-up")
        command.add_argument("--warmup", type=int, default=8)
        command.add_argument("--device", default="cuda")
        if name == "run":
            command.add_argument("--sizes", nargs="+", default=["134m", "1.1b"], choices=SIZES)
            command.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
            command.add_argument("--batch", type=json.loads, default={"tiny": 4, "134m": 16, "1.1b": 8},
                                 help='sequences per step by size, as JSON (default {"134m": 16, "1.1b": 8})')
            command.add_argument("--out", type=Path)
        else:
            command.add_argument("--size", choices=SIZES, required=True)
            command.add_argument("--variant", choices=VARIANTS, required=True)
            command.add_argument("--batch", type=int, required=True)
    args = parser.parse_args()
    {"prepare": prepare, "run": run, "one": one}[args.command](args)


if __name__ == "__main__":
    main()
