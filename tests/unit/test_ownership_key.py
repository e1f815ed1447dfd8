"""Ownership per stack instance (issue 21, items 4 and 5): the annotation's value, the cluster
guard's decision, its messages, and the ``ownerKey`` setting. The same rules on the real engine:
tests/integration/test_ownership.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cluster_client import stack_config
from harness import run_main

from components.config import ConfigError, parse_stack_config
from components.kubernetes.cluster_guard import OWNER_ANNOTATION, owned, ownership_refusal
from components.kubernetes.ownership import has_key, keyless_owner, owner_for

KEY = "0123456789abcdef" * 4
OTHER_KEY = "fedcba9876543210" * 4
STACK = "apim-gateway/dev"
OBJECT = ["v1", "Namespace", "", "contoso-dev-gw"]
CLUSTER = "uid-of-kube-system"


def test_a_key_makes_the_value_unique_to_the_instance_and_never_shows_the_key() -> None:
    mine, theirs = owner_for(STACK, KEY), owner_for(STACK, OTHER_KEY)
    assert mine != theirs and mine == owner_for(STACK, KEY)  # stable for the instance, unlike another's
    assert mine.startswith(f"{STACK}#") and len(mine.partition("#")[2]) == 32
    assert KEY not in mine and KEY[:16] not in mine
    assert owner_for(STACK, None) == STACK == keyless_owner(mine)
    assert has_key(mine) and not has_key(STACK)
    assert owner_for("apim-gateway/prod", KEY) != mine  # the stack's name is part of what is signed


def record(owner: str, cluster: str = CLUSTER, objects: list[list[str]] | None = None) -> dict[str, Any]:
    """The cluster guard's stored outputs (``_recorded``) of an earlier run."""
    return {"owner": owner, "cluster": cluster, "objects": [OBJECT] if objects is None else objects}


@pytest.mark.parametrize(
    ("annotation", "olds", "owner", "expected"),
    [
        # With a key the annotation decides, whatever the state says.
        (owner_for(STACK, KEY), {}, owner_for(STACK, KEY), True),
        (owner_for(STACK, OTHER_KEY), record(owner_for(STACK, OTHER_KEY)), owner_for(STACK, KEY), False),
        (None, record(STACK), owner_for(STACK, KEY), False),
        # The keyless value needs this stack's own record of the object on this cluster.
        (STACK, record(STACK), STACK, True),  # a keyless stack's own live object
        (STACK, record(STACK), owner_for(STACK, KEY), True),  # the migration: a key set since
        (STACK, {}, STACK, False),  # an alike-named stack's object, or one kept by a destroy
        (STACK, {}, owner_for(STACK, KEY), False),
        (STACK, record(STACK, cluster="another-cluster"), STACK, False),
        (STACK, record(STACK, objects=[]), STACK, False),
        (STACK, record(owner_for(STACK, KEY)), owner_for(STACK, KEY), False),  # migrated already
        ("someone/else", record(STACK), STACK, False),
    ],
)
def test_which_objects_are_the_stacks(annotation: str | None, olds: dict[str, Any], owner: str, expected: bool) -> None:
    assert owned(annotation, OBJECT, olds, owner, CLUSTER) is expected


def test_an_unknown_cluster_never_makes_a_keyless_object_the_stacks() -> None:
    assert not owned(STACK, OBJECT, record(STACK, cluster=""), STACK, "")


def test_the_refusal_of_a_keyless_object_names_the_one_explicit_command() -> None:
    owner = owner_for(STACK, KEY)
    claim = ["v1", "PersistentVolumeClaim", "contoso-dev-gw", "contoso-dev-gw-config-backup"]
    refusal = ownership_refusal("contoso-dev-gw", claim, owner, STACK)
    assert "PersistentVolumeClaim contoso-dev-gw/contoso-dev-gw-config-backup already exists" in refusal
    assert (
        "kubectl annotate --overwrite persistentvolumeclaim contoso-dev-gw-config-backup -n contoso-dev-gw "
        f"'{OWNER_ANNOTATION}={owner}'" in refusal
    )
    keyless = ownership_refusal("contoso-dev-gw", OBJECT, STACK, STACK)
    assert "set apim-gateway:ownerKey first" in keyless and "kubectl annotate" not in keyless
    foreign = ownership_refusal("contoso-dev-gw", OBJECT, owner, "someone/else")
    assert "kubectl annotate" not in foreign  # another owner's object: no way to take it is offered
    assert KEY not in refusal + keyless + foreign


def raw_config(**extra: Any) -> tuple[dict[str, Any], tuple[str, ...]]:
    config, secret_keys = stack_config("local")
    config.update({f"apim-gateway:{key}": value for key, value in extra.items()})
    return config, secret_keys


@pytest.mark.parametrize("bad", ["short", "x" * 31, "a" * 20 + " " + "b" * 20, 12345678901234567890123456789012345])
def test_a_bad_owner_key_is_refused_without_showing_it(bad: Any) -> None:
    config, secret_keys = raw_config(ownerKey=bad)
    with pytest.raises(ConfigError) as refused:
        parse_stack_config(config, secret_keys=(*secret_keys, "apim-gateway:ownerKey"))
    message = str(refused.value)
    assert "apim-gateway:ownerKey = (secret, not shown): must be a string of at least 32 characters" in message
    assert "openssl rand -hex 32" in message
    assert str(bad) not in message


def test_an_owner_key_in_plain_text_is_refused() -> None:
    config, secret_keys = raw_config(ownerKey=KEY)
    with pytest.raises(ConfigError, match=r"apim-gateway:ownerKey: must be set as a secret"):
        parse_stack_config(config, secret_keys=secret_keys)


def test_the_program_annotates_every_object_with_the_instances_value_and_registers_no_key() -> None:
    config, secret_keys = raw_config(ownerKey=KEY)
    recording = run_main(config, (*secret_keys, "apim-gateway:ownerKey"), stack="local")
    expected = owner_for("apim-gateway/local", KEY)
    kubernetes = [
        r for r in recording.resources if r.type.startswith("kubernetes:") and r.type != "pulumi:providers:kubernetes"
    ]
    assert kubernetes
    for resource in kubernetes:
        assert resource.inputs["metadata"]["annotations"][OWNER_ANNOTATION] == expected, resource.name
    (guard,) = [r for r in recording.resources if r.type.endswith("apim-gateway:ClusterGuard")]
    assert guard.inputs["owner"] == expected
    (removal,) = [r for r in recording.resources if r.type.endswith("apim-gateway:RemovalGuard")]
    assert removal.inputs["owner"] == expected
    everything = json.dumps([r.inputs for r in recording.resources]) + json.dumps(recording.plain_outputs)
    assert KEY not in everything


def test_without_a_key_the_value_is_the_stack_name() -> None:
    config, secret_keys = raw_config()
    recording = run_main(config, secret_keys, stack="local")
    (deployment,) = recording.of_type("kubernetes:apps/v1:Deployment")
    assert deployment.inputs["metadata"]["annotations"][OWNER_ANNOTATION] == "apim-gateway/local"
