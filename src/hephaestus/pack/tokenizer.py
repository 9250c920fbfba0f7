"""The pack stage's tokenizer: a local one (tokenizer.json or checkpoint folder) or a trained byte-level BPE.

`TokenizerHandle` wraps a `tokenizers.Tokenizer` (the Rust backend, for fast batch encoding) with the
settings of its `tokenizer_config.json`: the eos token and the model's chat template. Nothing is fetched
from the network. Padding and truncation are switched off: the pack stage cuts sequences itself.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

# Tried in this order when the config names no eos token: GPT-2/Qwen, Llama 2/Mistral/T5, Llama 3, Gemma, BERT.
EOS_FALLBACKS = ("<|endoftext|>", "</s>", "<|end_of_text|>", "<eos>", "[SEP]")
CONFIG_FILES = ("special_tokens_map.json", "tokenizer_config.json")  # a later file overrides an earlier one
DEFAULT_SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")


def _token_text(token: Any) -> Any:
    """A configured special token: a string, or a serialised AddedToken {"content": ...}."""
    return token.get("content") if isinstance(token, Mapping) else token


class TokenizerHandle:
    """A tokenizer with its config (eos token, chat template); it encodes without adding special tokens."""

    def __init__(self, tokenizer: Tokenizer, config: Mapping[str, Any] | None = None) -> None:
        tokenizer.no_padding()
        tokenizer.no_truncation()
        self.tokenizer = tokenizer
        self.config = dict(config or {})

    @property
    def vocab_size(self) -> int:
        """Number of ids, added (special) tokens included."""
        return self.tokenizer.get_vocab_size(with_added_tokens=True)

    @cached_property
    def eos_id(self) -> int:
        """Id of the config's `eos_token`; without one, of the first of EOS_FALLBACKS in the vocabulary."""
        configured = _token_text(self.config.get("eos_token"))
        candidates = (configured,) if configured else EOS_FALLBACKS
        for token in candidates:
            if (found := self.tokenizer.token_to_id(token)) is not None:
                return found
        raise ValueError(f"no eos token in the vocabulary (tried {', '.join(candidates)}); set eos_token in the config")

    @cached_property
    def fingerprint(self) -> str:
        """sha256 of the tokenizer JSON with sorted keys: equal fingerprints encode alike."""
        canonical = json.dumps(json.loads(self.tokenizer.to_str()), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    @property
    def chat_template(self) -> str | None:
        """The config's Jinja chat template (the one named "default" where it lists several), or None."""
        template = self.config.get("chat_template")
        if isinstance(template, list):
            template = next((entry["template"] for entry in template if entry.get("name") == "default"), None)
        return template or None

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text, encoded in parallel by the Rust backend (offsets not computed)."""
        return [encoding.ids for encoding in self.tokenizer.encode_batch_fast(list(texts), add_special_tokens=False)]

    def encode_offsets(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        """Token ids and each token's [start, end) character span in `text`."""
        encoding = self.tokenizer.encode(text, add_special_tokens=False)
        return encoding.ids, encoding.offsets

    def decode(self, ids: Sequence[int]) -> str:
        """Text of the ids, special tokens included."""
        return self.tokenizer.decode(list(ids), skip_special_tokens=False)

    def save(self, folder: str | Path) -> Path:
        """Write tokenizer.json and a tokenizer_config.json (eos token, chat template) that transformers loads."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.tokenizer.save(str(folder / "tokenizer.json"))
        config = {"tokenizer_class": "PreTrainedTokenizerFast", "eos_token": self.tokenizer.id_to_token(self.eos_id)}
        if self.chat_template:
            config["chat_template"] = self.chat_template
        (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")
        return folder

    @cached_property
    def hf_tokenizer(self) -> PreTrainedTokenizerFast:
        """This tokenizer as a transformers fast tokenizer, with the config's special tokens and chat template."""
        from transformers import PreTrainedTokenizerFast

        specials = {key: _token_text(value) for key, value in self.config.items() if key.endswith("_token")}
        specials = {key: value for key, value in specials.items() if isinstance(value, str)}
        specials["eos_token"] = self.tokenizer.id_to_token(self.eos_id)
        return PreTrainedTokenizerFast(tokenizer_object=self.tokenizer, chat_template=self.chat_template, **specials)


def _read_config(folder: Path) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for name in CONFIG_FILES:
        if (folder / name).is_file():
            config.update(json.loads((folder / name).read_text(encoding="utf-8")))
    if "chat_template" not in config and (folder / "chat_template.jinja").is_file():
        config["chat_template"] = (folder / "chat_template.jinja").read_text(encoding="utf-8")
    return config


def load_tokenizer(path: str | Path) -> TokenizerHandle:
    """Load a tokenizer.json file or a local checkpoint/tokenizer folder, never from the network.

    The config comes from the folder's special_tokens_map.json, tokenizer_config.json and
    chat_template.jinja. A folder without tokenizer.json is read by transformers' AutoTokenizer
    (local files only) and its fast backend is used.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"tokenizer not found: {path}")
    folder = path if path.is_dir() else path.parent
    file = folder / "tokenizer.json" if path.is_dir() else path
    if file.is_file():
        return TokenizerHandle(Tokenizer.from_file(str(file)), _read_config(folder))
    from transformers import AutoTokenizer

    backend = getattr(AutoTokenizer.from_pretrained(str(path), local_files_only=True), "backend_tokenizer", None)
    if backend is None:
        raise ValueError(f"{path}: transformers reads no fast tokenizer there; convert it to tokenizer.json")
    return TokenizerHandle(backend, _read_config(folder))


def train_bpe(
    texts: Iterable[str],
    vocab_size: int,
    out_dir: str | Path,
    special_tokens: Sequence[str] = DEFAULT_SPECIAL_TOKENS,
) -> TokenizerHandle:
    """Train a byte-level BPE on texts, deterministically, and save it to out_dir.

    Every byte is in the alphabet, so any text encodes and decode(encode(x)) == x; each special token
    is one id, and the first (by default <|endoftext|>) is the eos token.
    """
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    if not special_tokens or vocab_size < len(alphabet) + len(special_tokens):
        raise ValueError(f"need at least one special token and vocab_size >= {len(alphabet)} + special tokens")
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=list(special_tokens), initial_alphabet=alphabet, show_progress=False
    )
    tokenizer.train_from_iterator(texts, trainer)
    handle = TokenizerHandle(tokenizer, {"eos_token": special_tokens[0]})
    handle.save(out_dir)
    return handle
