"""YAML recipes: what `hephaestus run` executes, validated before any work starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hephaestus.curate.steps import BenchmarkFile, CurateSettings
from hephaestus.evaluate.bfcl_data import AST_CATEGORIES
from hephaestus.evaluate.settings import EvalSettings
from hephaestus.mix.plan import MixTarget
from hephaestus.mix.tokens import PAPER_SHARES, MixSettings
from hephaestus.pack.stage import PackSettings
from hephaestus.select.rule import parse_rule
from hephaestus.select.settings import SelectSettings
from hephaestus.sources import Source, SpecError, parse_spec
from hephaestus.train.settings import StageSettings, TrainSettings


class RecipeError(ValueError):
    """A recipe that cannot run; the message names the file and the offending field."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceEntry(Strict):
    """One source: a spec `name[.format]:arg` and its options."""

    spec: str
    options: dict[str, Any] = Field(default_factory=dict)

    def build(self) -> Source:
        return parse_spec(self.spec, **self.options)


class CollectConfig(Strict):
    sources: list[SourceEntry] = Field(min_length=1)

    @field_validator("sources", mode="before")
    @classmethod
    def _strings_are_specs(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"spec": item} if isinstance(item, str) else item for item in value]
        return value


class BenchmarkEntry(Strict):
    """An evaluation set to decontaminate against: JSONL/JSON (text fields) or plain text."""

    path: str
    name: str | None = None
    fields: list[str] = Field(default_factory=lambda: ["text"])


class CurateConfig(Strict):
    quality: bool = True
    decontaminate: bool = True
    bfcl: bool = True
    benchmarks: list[BenchmarkEntry] = Field(default_factory=list)
    ngram: int = Field(default=13, ge=1)
    near_threshold: float = Field(default=0.65, gt=0, lt=1)
    num_perm: int = Field(default=128, ge=16)
    max_chars: int = Field(default=1_000_000, ge=1)

    def settings(self) -> CurateSettings:
        files = tuple(BenchmarkFile(b.path, b.name, tuple(b.fields)) for b in self.benchmarks)
        return CurateSettings(quality=self.quality, decontaminate=self.decontaminate, bfcl=self.bfcl,
                              benchmark_files=files, ngram=self.ngram, near_threshold=self.near_threshold,
                              num_perm=self.num_perm, max_chars=self.max_chars)


class SelectConfig(Strict):
    embedder: str = "default"
    max_seq_length: int = Field(default=256, ge=8)
    k: int = Field(default=5, ge=1)
    rule: str = "similarity >= p90 and agent_score >= 0.5"
    max_seeds: int = Field(default=50_000, ge=10)
    max_train_per_class: int = Field(default=50_000, ge=10)
    seed_kinds: list[str] = Field(default_factory=lambda: ["tool_doc", "trajectory"])
    web_sources: list[str] = Field(default_factory=lambda: ["*"])
    tsne_points: int = Field(default=1500, ge=30)
    classifier_epochs: int = Field(default=10, ge=1)

    @field_validator("rule")
    @classmethod
    def _rule_parses(cls, value: str) -> str:
        parse_rule(value)
        return value

    def settings(self) -> SelectSettings:
        values = self.model_dump()
        values["seed_kinds"] = tuple(self.seed_kinds)
        values["web_sources"] = tuple(self.web_sources)
        return SelectSettings(**values)


class MixConfig(Strict):
    tokenizer: str | None = None
    vocab_size: int = Field(default=8192, ge=300)
    tokenizer_sample_docs: int = Field(default=20_000, ge=10)
    shares: dict[str, float] = Field(default_factory=lambda: dict(PAPER_SHARES))
    total_tokens: int | None = Field(default=None, ge=1)
    max_epochs: float = Field(default=4.0, ge=1)
    on_shortfall: Literal["keep_total", "keep_shares"] = "keep_total"
    count_sample_rate: float | None = Field(default=None, gt=0, le=1)
    stage2_replay: float = Field(default=0.0, ge=0, lt=1)
    seed: int = 0
    valid_fraction: float = Field(default=0.02, ge=0, lt=1)

    @field_validator("shares")
    @classmethod
    def _shares_are_a_mixture(cls, value: dict[str, float]) -> dict[str, float]:
        MixTarget(shares=value, total_tokens=1)  # raises a clear ValueError when they are not
        return value

    def settings(self) -> MixSettings:
        return MixSettings(**self.model_dump())


class PackConfig(Strict):
    seq_len: int = Field(default=2048, ge=8)
    seed: int = 0
    shuffle: bool = True
    shuffle_memory_bytes: int = Field(default=1 << 30, ge=1 << 20)
    chat_template: Literal["hephaestus", "model"] = "hephaestus"
    megatron: bool = False

    def settings(self) -> PackSettings:
        return PackSettings(**self.model_dump())


class TrainStageConfig(Strict):
    steps: int = Field(default=100, ge=1)
    lr: float = Field(default=3e-4, gt=0)
    min_lr: float = Field(default=3e-5, ge=0)
    warmup_steps: int = Field(default=10, ge=0)
    schedule: Literal["cosine", "wsd", "constant"] = "cosine"


class TrainConfigSection(Strict):
    model: str = "10m"
    batch_size: int = Field(default=8, ge=1)
    grad_accum: int = Field(default=1, ge=1)
    seed: int = 0
    eval_every: int = Field(default=0, ge=0)
    eval_batches: int = Field(default=20, ge=1)
    bench_items: int = Field(default=8, ge=0)
    checkpoint_every: int = Field(default=50, ge=0)
    compile: bool = False
    activation_checkpointing: bool = False
    attention: Literal["sdpa", "flex_attention", "flash_attention_2", "eager"] = "sdpa"
    stages: dict[Literal[1, 2, 3], TrainStageConfig] = Field(
        default_factory=lambda: {1: TrainStageConfig(), 2: TrainStageConfig(), 3: TrainStageConfig()})

    def settings(self) -> TrainSettings:
        values = self.model_dump(exclude={"stages"})
        stages = {stage: StageSettings(**config.model_dump()) for stage, config in self.stages.items()}
        return TrainSettings(**values, stages=stages)


class EvalConfig(Strict):
    """What `eval` measures; `models` empty means every trained stage's final model."""

    models: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=lambda: list(AST_CATEGORIES))
    limit: int | None = Field(default=None, ge=1)
    shots: int = Field(default=3, ge=0)
    batch_size: int = Field(default=8, ge=1)
    max_new_tokens: int = Field(default=256, ge=1)
    bench_loss: bool = True
    bfcl: bool = True
    retention: bool = True
    valid_batches: int = Field(default=50, ge=0)
    lm_eval_tasks: list[str] = Field(default_factory=list)
    lm_eval_include: list[str] = Field(default_factory=list)
    lm_eval_limit: int | None = Field(default=None, ge=1)

    @field_validator("categories")
    @classmethod
    def _known_categories(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(AST_CATEGORIES))
        if unknown or not value:
            raise ValueError(f"unknown BFCL categories {unknown}; choose from {', '.join(AST_CATEGORIES)}")
        return value

    def settings(self) -> EvalSettings:
        values = self.model_dump(exclude={"models"})
        values["categories"] = tuple(self.categories)
        values["lm_eval_tasks"], values["lm_eval_include"] = tuple(self.lm_eval_tasks), tuple(self.lm_eval_include)
        return EvalSettings(**values)


class Recipe(Strict):
    """A whole run: the workspace, parallelism and one section per stage."""

    name: str = "recipe"
    description: str = ""
    workspace: str
    workers: int = Field(default=2, ge=1)
    collect: CollectConfig
    curate: CurateConfig | None = None
    select: SelectConfig | None = None
    mix: MixConfig | None = None
    pack: PackConfig | None = None
    train: TrainConfigSection | None = None
    eval: EvalConfig | None = None
    report: bool = True


def load_recipe(path: str | Path) -> Recipe:
    """Parse and validate a recipe; every problem becomes one RecipeError line naming the file."""
    path = Path(path)
    if not path.is_file():
        raise RecipeError(f"{path}: no such recipe file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise RecipeError(f"{path}:{where} invalid YAML: {getattr(error, 'problem', error)}") from None
    if not isinstance(data, dict):
        raise RecipeError(f"{path}: a recipe is a YAML mapping with workspace, collect, ...")
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise RecipeError(f"{path}: {field}: {first['msg']}") from None
    try:
        for entry in recipe.collect.sources:
            entry.build()
    except SpecError as error:
        raise RecipeError(f"{path}: collect.sources: {error}") from None
    return recipe
