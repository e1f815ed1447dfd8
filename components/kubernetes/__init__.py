"""The Kubernetes side: what ``SelfHostedGateway`` registers in the cluster.

- ``side.py``: ``kubernetes_side()``, which describes every object and orders their registration;
- ``objects.py``: one registration function per object (the Helm chart's one template per object);
- ``manifests/``: pure functions, validated config → each object's spec (testable without Pulumi);
- ``settings.py``: the gateway settings map (config → the ConfigMap's data);
- ``egress.py``, ``trust_store.py``: the NetworkPolicy's egress rules, the custom CA trust store;
- ``provider.py``: the stack's own Kubernetes provider, behind the two guards;
- ``cluster_guard.py``, ``delivery_guard.py``: the guards (dynamic resources);
- ``rollout.py``: the key of the pods' credentials annotation (a dynamic resource).

Imports nothing of the Azure side or of the package.
"""
