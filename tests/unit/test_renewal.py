"""The token renewal's plan check (``scripts/renewal.py``): a renewal may change the token,
its Secret, the Deployment's credentials checksum and the retired key, and nothing else.

The fixture ``fixtures/renewal-preview.json`` is written after Pulumi's ``PreviewDigest``
(pulumi/pulumi ``sdk/go/common/display/json.go``: ``steps[]`` of ``op``, ``urn``,
``diffReasons``, ``detailedDiff``; ``diagnostics[]`` with ``severity``), with the resource
names ``SelfHostedGateway`` registers (``components/azure_side.py``, ``kubernetes_side.py``,
``gateway.py``); it is not a recording of a real run. The ``op``/``urn`` shape is checked
against the real engine's output in tests/integration/test_renewal_plan.py; the Deployment's
``detailedDiff`` keys are Pulumi property paths of the changed fields (pulumi-kubernetes
``provider/pkg/provider/provider.go`` Diff: ``convertPatchToDiff`` of the JSON patch between
old and new inputs, ``HasDetailedDiff: true``).
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from scripts import renewal

FIXTURE = Path(__file__).parent / "fixtures" / "renewal-preview.json"
PREFIX = "urn:pulumi:prod::apim-gateway::apim-gateway:index:SelfHostedGateway$"
NOW = datetime(2026, 11, 23, tzinfo=UTC)


def preview() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(FIXTURE.read_text())
    return loaded


def test_a_renewal_plan_passes_and_targets_exactly_its_four_resources() -> None:
    targets, problems = renewal.check_plan(preview())
    assert problems == []
    assert targets == [
        PREFIX + "pulumi-python:dynamic:Resource::contoso-weu-gw-access-token",
        PREFIX + "kubernetes:core/v1:Secret::contoso-weu-gw-token",
        PREFIX + "kubernetes:apps/v1:Deployment::contoso-weu-gw-deployment",
        PREFIX + "pulumi-python:dynamic:Resource::contoso-weu-gw-retired-key",
    ]


def test_a_plan_without_changes_targets_nothing() -> None:
    plan = preview()
    plan["steps"] = [step for step in plan["steps"] if step["op"] == "same"]
    assert renewal.check_plan(plan) == ([], [])


@pytest.mark.parametrize(
    ("index", "change", "message"),
    [
        (4, {"op": "update", "detailedDiff": {"data": {"kind": "update"}}}, "changes only the token"),
        (1, {"op": "delete"}, "changes only the token"),
        (3, {"op": "replace"}, "only updates this resource in place"),
        (
            5,
            {"detailedDiff": {"spec.template.spec.containers[0].image": {"kind": "update"}}},
            "not spec.template.spec.containers[0].image",
        ),
        (5, {"detailedDiff": {}, "diffReasons": []}, "(no property diff reported)"),
        # Only the token's data, only the token's expiry: a label on the Secret, or the token
        # pointed at another gateway, is no renewal.
        (3, {"detailedDiff": {"metadata.labels.team": {"kind": "add"}}}, "not metadata.labels.team"),
        (2, {"detailedDiff": {"gateway_id": {"kind": "update"}}}, "not gateway_id"),
        (6, {"detailedDiff": {"service_name": {"kind": "update"}}}, "not service_name"),
    ],
)
def test_any_other_change_fails_the_plan(index: int, change: dict[str, Any], message: str) -> None:
    plan = preview()
    plan["steps"][index].update(change)
    _, problems = renewal.check_plan(plan)
    assert len(problems) == 1
    assert message in problems[0]
    assert plan["steps"][index]["urn"] in problems[0]


def test_a_new_resource_fails_the_plan() -> None:
    plan = preview()
    extra = copy.deepcopy(plan["steps"][4])
    extra.update(op="create", urn=PREFIX + "kubernetes:core/v1:ConfigMap::stolen")
    plan["steps"].append(extra)
    _, problems = renewal.check_plan(plan)
    assert problems == [
        f"create {extra['urn']}: a token renewal changes only the token, its Secret and the Deployment's rollout"
    ]


def test_a_retry_of_a_failed_wait_is_neither_a_problem_nor_a_target() -> None:
    """The engine's empty update of a resource with ``initErrors`` (pulumi v3.259.0
    ``step_generator.go`` lines 2178-2190; the real preview's shape is in
    tests/integration/test_lifecycle.py): untargeted, the renewal does not run it."""
    plan = preview()
    retry = copy.deepcopy(plan["steps"][4])
    retry.update(op="update", detailedDiff={}, diffReasons=[], oldState={"initErrors": ["timed out waiting"]})
    retry["urn"] = PREFIX + "kubernetes:core/v1:Service::contoso-weu-gw-traffic"
    plan["steps"].append(retry)
    targets, problems = renewal.check_plan(plan)
    assert problems == [] and retry["urn"] not in targets
    # The same step with a change is no retry, and without init errors no update is empty.
    changes: list[dict[str, Any]] = [{"detailedDiff": {"spec.type": {"kind": "update"}}}, {"oldState": {}}]
    for changed in changes:
        plan["steps"][-1] = {**retry, **changed}
        assert renewal.check_plan(plan)[1]


def test_preview_errors_fail_the_plan() -> None:
    plan = preview()
    plan["diagnostics"] = [{"severity": "error", "message": "mandatory policy violation\n"}]
    assert renewal.check_plan(plan)[1] == ["preview error: mandatory policy violation"]


def test_main_prints_targets_and_exits_1_on_problems(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert renewal.main(["plan", str(FIXTURE)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 4
    plan = preview()
    plan["steps"][1]["op"] = "delete"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(plan))
    assert renewal.main(["plan", str(bad)]) == 1
    assert "::error::delete urn:pulumi:prod" in capsys.readouterr().err


def test_expiry_check() -> None:
    week = timedelta(days=7)
    soon = (NOW + timedelta(days=3)).isoformat().replace("+00:00", "Z")
    later = (NOW + timedelta(days=20)).isoformat()
    assert (
        renewal.check_expiry({"a": {"tokenExpiresOn": later}, "b": {"tokenExpiresOn": "none"}}, "prod", week, NOW) == []
    )
    assert renewal.check_expiry({}, "prod", week, NOW) == ["stack prod: the 'gateways' output is empty"]
    problems = renewal.check_expiry({"a": {"tokenExpiresOn": soon}, "b": {"tokenExpiresOn": "x"}}, "prod", week, NOW)
    assert problems == [
        f"stack prod, gateway a: the token expires on {soon} (3.0 days left, at least 7 needed)",
        "stack prod, gateway b: token expiry 'x' is not a date",
    ]
