"""Intent detection: map a user's message to an intent, its entities and a workflow.

Pure Python in the neutral package, shared by the Python client
(``DynamicWorkflowEngine(intent_engine=)``) and the server
(``WorkflowService.StartIntent``, ``dwe server --intents FILE``).

Rules come from a YAML/JSON file or dict, or the built-in set below::

    intents:
      account_analysis:
        keywords: [analyze, analysis, account, risk]
        patterns: ['\\banaly[sz]\\w*\\b.*\\baccount']
        workflow: account_analysis          # a template below
    entities:
      account_id: '\\bACC-\\d+\\b'
    templates:
      account_analysis:
        name: Account Analysis Workflow
        execution_mode: adaptive
        context: {account_id: '{account_id}'}   # filled from entities
        steps: [...]                            # the guide's step dicts

Confidence: a matching pattern gives 0.6, each distinct keyword found adds
0.15, capped at 1.0. The best-scoring intent is the primary one; below the
engine's ``confidence_threshold`` the primary intent is ``"unknown"``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import yaml

__all__ = [
    "ACCOUNT_ANALYSIS_STEPS",
    "DEFAULT_RULES",
    "KEYWORD_SCORE",
    "PATTERN_SCORE",
    "UNKNOWN",
    "Intent",
    "IntentDetectionEngine",
    "IntentError",
    "IntentRule",
    "load_rules",
]

PATTERN_SCORE = 0.6
KEYWORD_SCORE = 0.15
UNKNOWN = "unknown"


class IntentError(ValueError):
    """The rules are malformed, or a message does not lead to a workflow."""


@dataclass(frozen=True)
class Intent:
    """What a message asks for.

    Attributes:
        primary_intent: The best intent at or above the threshold, else "unknown".
        confidence: The best intent's score, 0..1 (also when it is below the threshold).
        entities: Extracted values by entity name, e.g. ``{"account_id": "ACC-1"}``.
        candidate: The best-scoring intent, even when below the threshold.
        scores: Every intent's score.
        message: The analysed text.
    """

    primary_intent: str
    confidence: float
    entities: dict[str, str] = field(default_factory=dict)
    candidate: str = UNKNOWN
    scores: dict[str, float] = field(default_factory=dict)
    message: str = ""

    @property
    def is_known(self) -> bool:
        return self.primary_intent != UNKNOWN


@dataclass(frozen=True)
class IntentRule:
    name: str
    keywords: tuple[str, ...] = ()
    patterns: tuple[re.Pattern[str], ...] = ()
    workflow: str | None = None


ACCOUNT_ANALYSIS_STEPS: list[dict[str, Any]] = [
    {
        "step_id": "fetch_account_data",
        "name": "Fetch Account Data",
        "description": "Retrieve account information from Zoho CRM",
        "agent_type": "zoho_scout",
        "agent_capability": "data_fetch",
        "estimated_duration": 5.0,
        "timeout_seconds": 30,
        "retry_count": 3,
    },
    {
        "step_id": "analyze_risk",
        "name": "Analyze Risk Factors",
        "description": "Perform comprehensive risk analysis",
        "agent_type": "risk_analyzer",
        "agent_capability": "analysis",
        "dependencies": ["fetch_account_data"],
        "estimated_duration": 3.0,
        "timeout_seconds": 30,
    },
    {
        "step_id": "get_historical_context",
        "name": "Get Historical Context",
        "description": "Retrieve historical patterns and trends",
        "agent_type": "memory_analyst",
        "agent_capability": "memory",
        "dependencies": ["fetch_account_data"],
        "estimated_duration": 2.0,
        "timeout_seconds": 30,
    },
    {
        "step_id": "generate_recommendations",
        "name": "Generate Recommendations",
        "description": "Create actionable recommendations",
        "agent_type": "recommender",
        "agent_capability": "recommendation",
        "dependencies": ["analyze_risk", "get_historical_context"],
        "estimated_duration": 4.0,
        "timeout_seconds": 30,
    },
]

DEFAULT_RULES: dict[str, Any] = {
    "intents": {
        "account_analysis": {
            "keywords": ["analyze", "analyse", "analysis", "account", "risk", "review", "health"],
            "patterns": [
                r"\banaly[sz]\w*\b.*\baccount",
                r"\baccount\b.*\b(risk|health|analysis|review)\b",
                r"\b(risk|health)\b.*\baccount",
            ],
            "workflow": "account_analysis",
        },
        "general_conversation": {
            "keywords": ["hello", "hi", "hey", "thanks", "thank"],
            "patterns": [r"^\s*(hi|hello|hey|thanks|thank you)\b"],
        },
    },
    "entities": {
        "account_id": r"\bACC-\d+\b",
        "email": r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b",
    },
    "templates": {
        "account_analysis": {
            "name": "Account Analysis Workflow",
            "description": "Complete account analysis with risk assessment",
            "execution_mode": "adaptive",
            "priority": "high",
            "context": {"account_id": "{account_id}"},
            "steps": ACCOUNT_ANALYSIS_STEPS,
        },
    },
}


def _compile(pattern: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise IntentError(f"{where}: bad pattern {pattern!r}: {exc}") from None


def load_rules(source: str | Path | Mapping[str, Any] | None) -> dict[str, Any]:
    """Rules as a dict: from a .yaml/.yml/.json file, a dict, or the built-in set."""
    if source is None:
        return DEFAULT_RULES
    if isinstance(source, Mapping):
        return dict(source)
    path = Path(source)
    text = path.read_text(encoding="utf-8")
    data = orjson.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    if not isinstance(data, dict):
        raise IntentError(f"{path}: expected a mapping with 'intents'")
    return data


class IntentDetectionEngine:
    """Detects intents by keywords and patterns and extracts entities.

    Args:
        confidence_threshold: Minimum confidence for a primary intent.
        rules: A rules file path, a rules dict, or None for the built-in rules.
    """

    def __init__(
        self,
        confidence_threshold: float = 0.7,
        rules: str | Path | Mapping[str, Any] | None = None,
    ) -> None:
        if not 0.0 <= confidence_threshold <= 1.0:
            raise IntentError("confidence_threshold must be between 0 and 1")
        self.confidence_threshold = confidence_threshold
        data = load_rules(rules)
        intents = data.get("intents")
        if not isinstance(intents, Mapping) or not intents:
            raise IntentError("rules need a non-empty 'intents' mapping")
        self.rules: list[IntentRule] = []
        for name, spec in intents.items():
            where = f"intents.{name}"
            if not isinstance(spec, Mapping):
                raise IntentError(f"{where}: expected a mapping")
            keywords = tuple(str(k).lower() for k in spec.get("keywords", ()))
            patterns = tuple(_compile(p, where) for p in spec.get("patterns", ()))
            if not keywords and not patterns:
                raise IntentError(f"{where}: needs keywords or patterns")
            self.rules.append(IntentRule(str(name), keywords, patterns, spec.get("workflow")))
        self.entities = {
            str(name): _compile(str(p), f"entities.{name}")
            for name, p in (data.get("entities") or {}).items()
        }
        self.templates: dict[str, dict[str, Any]] = dict(data.get("templates") or {})
        for rule in self.rules:
            if rule.workflow and rule.workflow not in self.templates:
                raise IntentError(
                    f"intents.{rule.name}: workflow {rule.workflow!r} is not among the templates"
                )

    @classmethod
    def from_file(
        cls, path: str | Path, confidence_threshold: float = 0.7
    ) -> IntentDetectionEngine:
        return cls(confidence_threshold, rules=path)

    def analyze_intent(self, message: str) -> Intent:
        """Score every intent against ``message`` and extract entities."""
        text = message or ""
        words = set(re.findall(r"[a-z0-9][a-z0-9_'-]*", text.lower()))
        scores: dict[str, float] = {}
        for rule in self.rules:
            score = PATTERN_SCORE if any(p.search(text) for p in rule.patterns) else 0.0
            score += KEYWORD_SCORE * sum(1 for k in rule.keywords if k in words)
            scores[rule.name] = round(min(score, 1.0), 4)
        best = max(scores, key=lambda name: scores[name])
        confidence = scores[best]
        entities = {}
        for name, pattern in self.entities.items():
            found = pattern.search(text)
            if found:
                entities[name] = found.group(0)
        primary = best if confidence >= self.confidence_threshold and confidence > 0 else UNKNOWN
        return Intent(primary, confidence, entities, best, scores, text)

    def workflow_for(self, message: str) -> tuple[Intent, dict[str, Any]]:
        """The intent and the workflow (a dict for ``create_workflow``) it maps to.

        Raises:
            IntentError: No intent reached the threshold, or the intent has no
                workflow template, or an entity the template needs is missing.
        """
        intent = self.analyze_intent(message)
        if not intent.is_known:
            raise IntentError(
                f"no intent reached the confidence threshold {self.confidence_threshold:.2f} "
                f"(best: {intent.candidate!r} at {intent.confidence:.2f})"
            )
        rule = next(r for r in self.rules if r.name == intent.primary_intent)
        if not rule.workflow:
            raise IntentError(f"intent {intent.primary_intent!r} has no workflow template")
        template = self.templates[rule.workflow]
        workflow = {k: v for k, v in template.items() if k != "context"}
        workflow["context"] = _fill(template.get("context") or {}, intent)
        return intent, workflow


def _fill(context: Mapping[str, Any], intent: Intent) -> dict[str, Any]:
    """Replace "{entity}" placeholders in context values with extracted entities."""
    out: dict[str, Any] = {}
    for key, value in context.items():
        if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
            name = value[1:-1]
            if name not in intent.entities:
                raise IntentError(
                    f"intent {intent.primary_intent!r} needs entity {name!r}, "
                    f"not found in {intent.message!r}"
                )
            out[key] = intent.entities[name]
        else:
            out[key] = value
    return out
