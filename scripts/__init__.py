"""Project scripts: toolchain, local control plane, local demo (importable by the tests)."""
