#!/usr/bin/env bash
# The GPU checks of issues 3 and 5 in one device call (sized for about 8 minutes on one H100/H200); figures
# and logs go to $OUT. Prepare the inputs here first (CPU): .venv/bin/python benchmarks/device_prepare.py
# then call the device with: command "bash benchmarks/device_checks.sh", carry ["bench-data"], timeout_s 600.
# The device image brings torch, transformers, sentence-transformers, tokenizers, pyarrow, fsspec and xxhash;
# these checks import nothing else of ours (PYTHONPATH=src, no install).
set -uo pipefail
export PYTHONPATH=src PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/device-out}
# A CPU smoke run: DOCS=50 SIZES=tiny DEVICE=cpu STEPS=2 VARIANTS='plain ours-sdpa' bash benchmarks/device_checks.sh
DOCS=${DOCS:-100000} SIZES=${SIZES:-134m 1.1b} DEVICE=${DEVICE:-cuda} STEPS=${STEPS:-20}
VARIANTS=${VARIANTS:-plain plain-bf16 ours-sdpa-compile ours-flex-compile}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | tee "$OUT/gpu.txt"
python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)" \
  | tee -a "$OUT/gpu.txt"
# Issue 3: embedding end to end at 256 tokens (read, tokenise, encode, write), the real model and the fallback.
timeout 150 python3 benchmarks/embed_throughput.py --texts bench-data/web.jsonl --docs "$DOCS" \
  --embedders bench-data/minilm hashing --device "$DEVICE" --batch-size 1024 2>&1 | tee "$OUT/embed.log"
# Issue 5: our loop vs the plain Hugging Face loop at 134M and 1.1B, sequences of 2,048 on packed real text.
python3 benchmarks/train_throughput.py prepare --texts bench-data/web.jsonl --out /tmp/train-pack \
  2>&1 | tee "$OUT/train.log"
# shellcheck disable=SC2086  # SIZES and VARIANTS are lists
timeout 400 python3 benchmarks/train_throughput.py run --pack /tmp/train-pack --sizes $SIZES --variants $VARIANTS \
  --device "$DEVICE" --steps "$STEPS" --out "$OUT" 2>&1 | tee -a "$OUT/train.log"
