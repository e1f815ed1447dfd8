"""Policy pack ``apim-gateway-guardrails``: ``rules`` (pure checks), ``pack`` (the policies),
``__main__`` (serves the pack to the Pulumi engine)."""
