"""The component as a Pulumi package for other languages (docs/multi-language.md).

- ``plugin.py``: the provider plugin's entry point (``pulumi-resource-apim-gateway``);
- ``args.py``: the package's arguments, turned into the component's validated config;
- ``types.py``: the package's typed arguments, generated from the config models.
"""
