"""The Azure side: what ``SelfHostedGateway`` registers in the APIM instance.

- ``side.py``: ``azure_side()``, which orders the rest and returns the ``Credentials``;
- ``gateway.py``: the gateway resource and its API, hostname and certificate-authority assignments;
- ``identity.py``: the token-free modes' identity, federated credential and roles;
- ``token.py``: the access token and key regeneration (dynamic resources), and the renewal window;
- ``credentials.py``: how the token resource signs in to Azure, as the azure-native provider does;
- ``alerts.py``: the stack's token-expiry alert (``TokenExpiryAlertResources``);
- ``role_id_migration.py``: the one-off state rewrite of the role assignments' role id for stacks
  deployed before issue 23 (docs/operations.md).

Imports nothing of the Kubernetes side or of the package.
"""
