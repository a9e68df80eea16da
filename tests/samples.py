"""Sample-object factories for every admin model, used by the scope-crawling test.

Each module registers, in `tests/<module>/samples.py`, one factory per admin model:

    @sample("subscribers.subscriber")
    def subscriber(org):
        return Subscriber.objects.create(organization=org, ...)

A factory gets an Organization node and returns an object owned by that node (for
tenant-level models, by that node's tenant; for deployment-wide ones the node may be ignored).
The crawl test fails for any registered admin model without a factory.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from pathlib import Path

SAMPLES: dict[str, Callable] = {}


def sample(label: str):
    def register(factory: Callable) -> Callable:
        SAMPLES[label.lower()] = factory
        return factory

    return register


def load_all() -> dict[str, Callable]:
    tests_dir = Path(__file__).parent
    for info in pkgutil.iter_modules([str(tests_dir)]):
        if info.ispkg and (tests_dir / info.name / "samples.py").exists():
            importlib.import_module(f"tests.{info.name}.samples")
    return SAMPLES
