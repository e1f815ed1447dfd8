"""Hypothesis strategies for single setting values: plausible ones, and (``faulty``) plausible-but-wrong ones.

Used by ``stack_strategies.py``; each wrong value is one the config check must refuse.
"""

from __future__ import annotations

import ipaddress
import string
from typing import Any

from hypothesis import strategies as st

LOWER = string.ascii_lowercase + string.digits


def pick(valid: st.SearchStrategy[Any], wrong: st.SearchStrategy[Any], faulty: bool) -> st.SearchStrategy[Any]:
    """``valid`` only, or, in a faulty stack, ``valid`` or ``wrong``."""
    return st.one_of(valid, wrong) if faulty else valid


def _label(length: int, alphabet: str = LOWER) -> st.SearchStrategy[str]:
    """A DNS-1123 label of exactly ``length`` characters."""
    if length == 1:
        return st.text(string.ascii_lowercase, min_size=1, max_size=1)
    return st.builds(
        lambda first, middle, last: first + middle + last,
        st.sampled_from(string.ascii_lowercase),
        st.text(alphabet + "-", min_size=length - 2, max_size=length - 2),
        st.sampled_from(LOWER),
    )


def labels(max_length: int, faulty: bool) -> st.SearchStrategy[str]:
    """Valid labels, often at the length limit; in a faulty stack one past it or malformed."""
    return pick(
        st.one_of(st.integers(1, 12).flatmap(_label), _label(max_length)),
        st.one_of(
            _label(max_length + 1),
            st.sampled_from(["Upper-Case", "-leading", "trailing-", "dots.in.it", "under_score", ""]),
        ),
        faulty,
    )


def gateway_names(faulty: bool) -> st.SearchStrategy[str]:
    return pick(labels(43, faulty=False), st.one_of(labels(43, faulty=True), st.just("managed")), faulty)


def quantities(kind: str, faulty: bool) -> st.SearchStrategy[str]:
    # Any quantity in the accepted syntax, including 0 and a request above its limit: those
    # are the config's to refuse, so they are drawn in valid-looking stacks too.
    suffixes = ["", "m"] if kind == "cpu" else ["Mi", "Gi", "M", "G", "Ki", "", "k"]
    return pick(
        st.builds(lambda n, s: f"{n}{s}", st.integers(0, 4096), st.sampled_from(suffixes)),
        st.sampled_from(["0.5", "1.5Gi", "2 cores", "-1", "1e3", "2GB"]),
        faulty,
    )


def ip_addresses(faulty: bool) -> st.SearchStrategy[str]:
    return pick(
        st.ip_addresses().map(str),
        st.sampled_from(["10.0.0.256", "not-an-ip", "10.0.0.0/24", "fd00::g", "010.0.0.1"]),
        faulty,
    )


def cidrs(faulty: bool) -> st.SearchStrategy[str]:
    v4 = st.builds(
        lambda ip, prefix: str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False)),
        st.ip_addresses(v=4),
        st.integers(0, 32),
    )
    v6 = st.builds(
        lambda ip, prefix: str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False)),
        st.ip_addresses(v=6),
        st.integers(0, 128),
    )
    wrong = st.sampled_from(["10.0.0.0/33", "10.0.0.1/24", "fd00::/129", "10.0.0.0", "any", "0.0.0.0/-1"])
    return pick(st.one_of(v4, v6), wrong, faulty)


def ports(faulty: bool) -> st.SearchStrategy[int]:
    return pick(
        st.one_of(st.integers(1, 65535), st.sampled_from([80, 443, 8080, 65535])),
        st.sampled_from([0, 65536, -1]),
        faulty,
    )


def int_or_percent(faulty: bool) -> st.SearchStrategy[int | str]:
    return pick(
        st.one_of(st.integers(0, 5), st.sampled_from(["0%", "25%", "50%", "100%"])),
        st.sampled_from(["101%", "x%", 2**31, -1]),
        faulty,
    )


def guids(faulty: bool) -> st.SearchStrategy[str]:
    return pick(st.uuids().map(str), st.sampled_from(["not-a-guid", "1234"]), faulty)


def qualified_keys(faulty: bool) -> st.SearchStrategy[str]:
    return pick(
        st.one_of(
            st.sampled_from(
                ["agentpool", "kubernetes.io/os", "service.beta.kubernetes.io/azure-load-balancer-internal"]
            ),
            _label(63).map(lambda name: f"example.com/{name}"),
        ),
        st.sampled_from(["Bad Key", "a/b/c", "UPPER.example.com/x", "x" * 64, "-dash"]),
        faulty,
    )


def label_values(faulty: bool) -> st.SearchStrategy[str]:
    return pick(
        st.one_of(labels(63, faulty=False), st.sampled_from(["gateway", "true", "v1.2_3"])),
        st.sampled_from(["with space", "x" * 64, "-x"]),
        faulty,
    )


def tolerations(faulty: bool) -> st.SearchStrategy[dict[str, Any]]:
    if faulty:
        # Any mix of fields, consistent or not (no key with Equal, Exists with a value, a typo...).
        return st.fixed_dictionaries(
            {},
            optional={
                "key": qualified_keys(True),
                "operator": st.sampled_from(["Exists", "Equal", "Sometimes"]),
                "value": label_values(True),
                "effect": st.sampled_from(["NoSchedule", "PreferNoSchedule", "NoExecute", "Never"]),
                "tolerationSeconds": st.integers(0, 600),
                "typo": st.just(1),
            },
        )
    exists = st.fixed_dictionaries(
        {"key": qualified_keys(False), "operator": st.just("Exists")},
        optional={"effect": st.sampled_from(["NoSchedule", "PreferNoSchedule"])},
    )
    equal = st.fixed_dictionaries(
        {"key": qualified_keys(False), "operator": st.just("Equal"), "value": label_values(False)},
        optional={"effect": st.sampled_from(["NoSchedule", "PreferNoSchedule"])},
    )
    evicting = st.fixed_dictionaries(
        {"operator": st.just("Exists"), "effect": st.just("NoExecute")},
        optional={"key": qualified_keys(False), "tolerationSeconds": st.integers(0, 600)},
    )
    return st.one_of(exists, equal, evicting)


def hostnames(faulty: bool) -> st.SearchStrategy[str]:
    return pick(
        st.sampled_from(
            [
                "api.contoso.com",
                "*.apis.contoso.com",
                "apis.contoso.com",
                "api-contoso.com",
                "API.Contoso.com",
                "x" * 70 + ".example.com",
                "x" * 70 + ".example.org",
            ]
        ),
        st.just("https://api.contoso.com"),
        faulty,
    )


def api_ids(faulty: bool) -> st.SearchStrategy[str]:
    return pick(
        st.one_of(
            st.sampled_from(["echo-api", "orders", "orders.v2", "orders-v2"]),
            st.text(LOWER + "-.", min_size=1, max_size=80),
        ),
        st.sampled_from(["a#b", "", "x" * 81]),
        faulty,
    )


def resource_group_names(faulty: bool) -> st.SearchStrategy[str]:
    return pick(
        st.sampled_from(["rg-apim", "rg_(prod).apim", "RG-1", "r" * 90]),
        st.sampled_from(["rg.", "rg/x", "r" * 91, "rg apim"]),
        faulty,
    )
