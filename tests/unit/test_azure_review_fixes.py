"""Statements the review of issue 23 found wrong in the docs, now checked against the code and the
pinned SDKs so they cannot drift again."""

from __future__ import annotations

import inspect
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import azure.mgmt.msi.v2023_01_31.operations as msi_operations
import pytest
from azure.identity import ClientSecretCredential, ManagedIdentityCredential
from harness import ROOT
from stack_invariants import _FEDERATED_CREDENTIAL_NAME

from components.azure.credentials import AZURE_CLOUDS, azure_credential
from components.azure.token import CLOCK_SKEW_MARGIN, renewal_window
from components.config.azure import TokenSettings


@pytest.mark.parametrize(("validity", "interval"), [(30, 7), (30, 1), (14, 13), (2, 1)])
def test_a_token_has_validity_less_interval_less_one_hour_left_when_its_window_ends(
    validity: int, interval: int
) -> None:
    now = datetime(2026, 11, 23, 17, 5, tzinfo=UTC)
    window = renewal_window(now, validity, interval)
    last_moment = window.renews_at - timedelta(microseconds=1)
    assert renewal_window(last_moment, validity, interval) == window
    assert window.expires_on - window.renews_at == timedelta(days=validity - interval) - timedelta(hours=1)


def test_the_docs_state_the_default_margin() -> None:
    defaults = TokenSettings()
    left = timedelta(days=defaults.validity_days - defaults.renewal_interval_days) - CLOCK_SKEW_MARGIN
    assert left == timedelta(days=22, hours=23)
    operations = (ROOT / "docs" / "operations.md").read_text()
    assert "22 days 23 hours" in " ".join(operations.split())
    assert "(23 by default)" not in operations


def test_the_managed_identity_credential_takes_no_authority() -> None:
    """docs/azure-identity.md: every credential but the managed-identity one gets the cloud's authority."""
    assert "authority" not in inspect.signature(ManagedIdentityCredential.__init__).parameters
    cloud = AZURE_CLOUDS["usgovernment"]
    assert isinstance(azure_credential(cloud, {"ARM_USE_MSI": "true"}), ManagedIdentityCredential)
    secret = azure_credential(
        cloud, {"ARM_CLIENT_SECRET": "s", "ARM_CLIENT_ID": "00000000-0000-0000-0000-000000000002", "ARM_TENANT_ID": "t"}
    )
    assert isinstance(secret, ClientSecretCredential)
    source = inspect.getsource(azure_credential)
    assert source.count("authority=cloud.authority") == 4  # default (twice), secret, OIDC: all but MSI
    text = " ".join((ROOT / "docs" / "azure-identity.md").read_text().split())
    assert "Every credential but the managed-identity one uses the authority" in text


def test_the_federated_credential_name_rule_is_the_one_of_the_api_version_azure_native_uses() -> None:
    """tests/stack_invariants.py cites ManagedIdentity.json 2023-01-31 (azure-native 3.29.0's version);
    azure-mgmt-msi 7.0.0 validates the same pattern for that version."""
    source = Path(msi_operations.__file__).parent.joinpath("_federated_identity_credentials_operations.py").read_text()
    patterns = set(re.findall(r'pattern=r"([^"]+)"', source))
    assert patterns == {_FEDERATED_CREDENTIAL_NAME.pattern}
    assert "2024-11-30" not in (ROOT / "tests" / "stack_invariants.py").read_text()
    assert "2024-11-30" not in (ROOT / "docs" / "validation.md").read_text()
