"""The configuration reference (docs/configuration.md) is the table generated from the config models."""

from harness import ROOT

from components.config import GatewayConfig
from components.config.reference import END_MARKER, REFERENCE_DOCUMENT, START_MARKER, config_reference, with_reference


def test_docs_carry_the_current_config_reference() -> None:
    document = REFERENCE_DOCUMENT.read_text()
    assert REFERENCE_DOCUMENT == ROOT / "docs" / "configuration.md"
    assert with_reference(document) == document, "run: python -m components.config.reference --update"


def test_readme_links_to_the_reference_instead_of_carrying_it() -> None:
    readme = (ROOT / "README.md").read_text()
    assert START_MARKER not in readme and END_MARKER not in readme
    assert "](docs/configuration.md)" in readme


def test_every_gateway_setting_is_documented() -> None:
    table = config_reference()
    for name, field in GatewayConfig.model_fields.items():
        assert f"`apim-gateway:gateways[].{field.alias or name}" in table
    undocumented = [line for line in table.splitlines()[2:] if line.rstrip().endswith("|  |")]
    assert undocumented == []
