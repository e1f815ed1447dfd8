"""The README's configuration table is the one generated from the config models."""

from harness import ROOT

from components.config import GatewayConfig
from components.reference import config_reference, with_reference


def test_readme_carries_the_current_config_reference() -> None:
    readme = (ROOT / "README.md").read_text()
    assert with_reference(readme) == readme, "run: python -m components.reference --update-readme"


def test_every_gateway_setting_is_documented() -> None:
    table = config_reference()
    for name, field in GatewayConfig.model_fields.items():
        assert f"`apim-gateway:gateways[].{field.alias or name}" in table
    undocumented = [line for line in table.splitlines()[2:] if line.rstrip().endswith("|  |")]
    assert undocumented == []
