"""IntentDetectionEngine: scoring, entities, rules files and templates (pure, no server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dwe.clients import IntentDetectionEngine, IntentError
from tests.support.intents import REFUND_RULES


@pytest.mark.parametrize(
    ("message", "intent", "confidence", "entities"),
    [
        ("analyze account ACC-12345", "account_analysis", 0.9, {"account_id": "ACC-12345"}),
        (
            "Please review the risk of account ACC-7",
            "account_analysis",
            1.0,
            {"account_id": "ACC-7"},
        ),
        ("hello there", "general_conversation", 0.75, {}),
        ("risk", "unknown", 0.15, {}),
        ("what is the weather", "unknown", 0.0, {}),
        (
            "mail bob@example.com about ACC-1",
            "unknown",
            0.0,
            {"account_id": "ACC-1", "email": "bob@example.com"},
        ),
    ],
)
def test_builtin_rules(message: str, intent: str, confidence: float, entities: dict) -> None:
    found = IntentDetectionEngine(confidence_threshold=0.7).analyze_intent(message)
    assert (found.primary_intent, found.confidence, found.entities) == (
        intent,
        pytest.approx(confidence),
        entities,
    )


def test_threshold_decides_primary_but_keeps_candidate() -> None:
    strict = IntentDetectionEngine(confidence_threshold=0.95)
    found = strict.analyze_intent("analyze account ACC-1")
    assert (found.primary_intent, found.candidate, found.confidence) == (
        "unknown",
        "account_analysis",
        pytest.approx(0.9),
    )
    with pytest.raises(IntentError, match=r"threshold 0.95 \(best: 'account_analysis' at 0.90\)"):
        strict.workflow_for("analyze account ACC-1")


def test_template_context_is_filled_from_entities() -> None:
    intent, workflow = IntentDetectionEngine().workflow_for("analyze account ACC-42 please")
    assert intent.primary_intent == "account_analysis"
    assert workflow["name"] == "Account Analysis Workflow"
    assert workflow["context"] == {"account_id": "ACC-42"}
    assert next(s["step_id"] for s in workflow["steps"]) == "fetch_account_data"


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ("hello", "intent 'general_conversation' has no workflow template"),
        ("analyze my account", "needs entity 'account_id'"),
    ],
)
def test_workflow_for_errors(message: str, error: str) -> None:
    with pytest.raises(IntentError, match=error):
        IntentDetectionEngine().workflow_for(message)


def test_rules_from_a_yaml_file(tmp_path: Path) -> None:
    path = tmp_path / "intents.yaml"
    path.write_text(REFUND_RULES)
    engine = IntentDetectionEngine.from_file(path, confidence_threshold=0.7)
    intent, workflow = engine.workflow_for("I want a refund for order ORD-9")
    assert (intent.primary_intent, intent.entities) == ("refund", {"order_id": "ORD-9"})
    assert workflow["context"] == {"order": "ORD-9", "source": "chat"}


@pytest.mark.parametrize(
    ("rules", "error"),
    [
        ({}, "non-empty 'intents'"),
        ({"intents": {"x": {}}}, "intents.x: needs keywords or patterns"),
        ({"intents": {"x": {"patterns": ["("]}}}, "intents.x: bad pattern"),
        (
            {"intents": {"x": {"keywords": ["a"], "workflow": "nope"}}},
            "workflow 'nope' is not among the templates",
        ),
    ],
)
def test_bad_rules_are_refused(rules: dict, error: str) -> None:
    with pytest.raises(IntentError, match=error):
        IntentDetectionEngine(rules=rules)
