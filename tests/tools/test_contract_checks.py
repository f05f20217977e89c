"""The contract checks can fail: `buf breaking` and `buf lint` (make proto-breaking,
make proto-lint) run on an edited copy of protos/ and name what was broken."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
BUF = ROOT / "tools" / "buf" / "node_modules" / ".bin" / "buf"

pytestmark = pytest.mark.skipif(
    not BUF.exists(), reason=f"the buf CLI is not installed ({BUF}): run `make buf-deps`"
)

# In protos/dwe/v1/common.proto, message ErrorInfo.
RETRYABLE = "  bool retryable = 3;\n"
TYPE_COMMENT = (
    "  // Machine-readable kind: the exception class name, or one of the server's\n"
    '  // kinds ("Timeout", "TransformError", "ScheduleToStartTimeout", "Skipped",\n'
    '  // "Cancelled").\n'
)


@pytest.fixture
def protos(tmp_path: Path) -> Path:
    """A copy of protos/ (buf.yaml, dwe/v1/*.proto, released/dwe-v1.binpb)."""
    copy = tmp_path / "protos"
    shutil.copytree(ROOT / "protos", copy, ignore=shutil.ignore_patterns("*.py", "*.pyi"))
    return copy


def edit(protos: Path, old: str, new: str) -> None:
    path = protos / "dwe" / "v1" / "common.proto"
    text = path.read_text()
    assert text.count(old) == 1, f"common.proto changed: {old!r} is not there once"
    path.write_text(text.replace(old, new))


def buf(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BUF), *map(str, args)], capture_output=True, text=True, timeout=60, check=False
    )


def breaking(protos: Path) -> subprocess.CompletedProcess[str]:
    return buf("breaking", protos, "--against", protos / "released" / "dwe-v1.binpb")


def test_the_unchanged_contract_passes_both_checks(protos: Path) -> None:
    for result in (breaking(protos), buf("lint", protos)):
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("replacement", "message"),
    [
        ("", 'Previously present field "3" with name "retryable" on message "ErrorInfo"'),
        ("  int32 retryable = 3;\n", 'changed type from "bool" to "int32"'),
        ("  bool retryable = 4;\n", 'Previously present field "3" with name "retryable"'),
    ],
    ids=["removed", "retyped", "renumbered"],
)
def test_breaking_a_released_field_fails_naming_it(
    protos: Path, replacement: str, message: str
) -> None:
    edit(protos, RETRYABLE, replacement)
    result = breaking(protos)
    assert result.returncode != 0
    assert "common.proto" in result.stdout and message in result.stdout, result.stdout


def test_a_field_without_a_comment_fails_lint_naming_it(protos: Path) -> None:
    edit(protos, TYPE_COMMENT, "")
    result = buf("lint", protos)
    assert result.returncode != 0
    assert 'Field "type" should have a non-empty comment' in result.stdout, result.stdout
    assert breaking(protos).returncode == 0  # a comment is not part of the wire contract
