"""Shared fixtures. The tests run offline: the hub is never asked (CI has no network to it)."""
import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TQDM_DISABLE", "1")

import pytest  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def qwen_cases():
    """Exact renderings of Qwen2.5-Instruct's own chat template (ground truth)."""
    return json.loads((FIXTURES / "qwen25_chat_fixtures.json").read_text(encoding="utf-8"))["cases"]


@pytest.fixture(scope="session")
def embedded_tokenizer():
    from lib import models, profile

    return models.load_tokenizer(profile.load_profile("cpu-embedded"))


@pytest.fixture(scope="session")
def embedded_model():
    from lib import models, profile

    return models.load_model(profile.load_profile("cpu-embedded"))
