"""load_agent("module:attr") as a table."""

import textwrap
from pathlib import Path

import pytest

from dwe.agent_sdk import Agent
from dwe.agent_sdk.loader import load_agent

MODULE = textwrap.dedent(
    """
    from dwe.agent_sdk import Agent

    agent = Agent("direct", capabilities=["x"])

    def make():
        return Agent("made", capabilities=["x"])

    class Holder:
        agent = Agent("nested", capabilities=["x"])

    def not_an_agent():
        return 42

    number = 7
    """
)


@pytest.fixture
def module_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    name = f"sdk_loader_fixture_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


@pytest.mark.parametrize(
    ("attr", "agent_id"), [("agent", "direct"), ("make", "made"), ("Holder.agent", "nested")]
)
def test_load_agent_resolves(module_name: str, attr: str, agent_id: str) -> None:
    agent = load_agent(f"{module_name}:{attr}")
    assert isinstance(agent, Agent)
    assert agent.agent_id == agent_id


@pytest.mark.parametrize(
    ("attr", "error"),
    [
        ("missing", AttributeError),
        ("not_an_agent", TypeError),
        ("number", TypeError),
    ],
)
def test_load_agent_rejects(module_name: str, attr: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        load_agent(f"{module_name}:{attr}")


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        ("no_colon", ValueError),
        (":agent", ValueError),
        ("module:", ValueError),
        ("sdk_loader_no_such_module_xyz:agent", ImportError),
    ],
)
def test_load_agent_bad_specs(spec: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        load_agent(spec)
