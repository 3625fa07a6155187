"""The load test's configuration (``loadtest/profiles.yaml``), validated before a user starts."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

DEFAULT_CONFIG = Path(__file__).with_name("profiles.yaml")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True)


class Weights(_Model):
    browse: int = Field(ge=0)
    place_order: int = Field(ge=0)

    @model_validator(mode="after")
    def _some_work(self) -> Weights:
        if self.browse + self.place_order == 0:
            raise ValueError("at least one weight must be above 0")
        return self


class Catalogue(_Model):
    products: int = Field(ge=1)
    customers: int = Field(ge=1)
    zipf_exponent: float = Field(gt=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    max_quantity: int = Field(ge=1)


class Slo(_Model):
    placement_p99_seconds: float = Field(gt=0)
    max_error_rate: float = Field(ge=0, lt=1)
    order_final_within_seconds: float = Field(gt=0)


class Stage(_Model):
    seconds: float = Field(gt=0)
    users: int = Field(ge=0)
    spawn_rate: float = Field(gt=0)


class LoadTestConfig(_Model):
    weights: Weights
    catalogue: Catalogue
    think_seconds: tuple[float, float]
    poll_seconds: float = Field(gt=0)
    slo: Slo
    profiles: dict[str, list[Stage]]

    @model_validator(mode="after")
    def _consistent(self) -> LoadTestConfig:
        low, high = self.think_seconds
        if not 0 <= low <= high:
            raise ValueError(f"thinkSeconds [{low}, {high}] must be [low, high] with 0 <= low <= high")
        empty = [name for name, stages in self.profiles.items() if not stages]
        if empty:
            raise ValueError(f"profiles {empty} have no stages")
        return self

    def stages(self, profile: str) -> list[Stage]:
        if profile not in self.profiles:
            raise ValueError(f"no profile {profile!r}; the config has {', '.join(sorted(self.profiles))}")
        return self.profiles[profile]


class ConfigError(Exception):
    """The configuration file is invalid; the message names the file and every bad key."""


def load_config(path: Path = DEFAULT_CONFIG) -> LoadTestConfig:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"{path}: cannot read the load test config: {err}") from None
    try:
        return LoadTestConfig.model_validate(data)
    except ValidationError as err:
        problems = "\n".join(f"  - {'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in err.errors())
        raise ConfigError(f"{path}: invalid load test config:\n{problems}") from None
