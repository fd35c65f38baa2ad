"""curator.io.secrets.redact: a URL's credentials never survive it, in a URL alone, in a message, in a
structure of params; what is not a credential (host, port, path, words) stays as it was."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from curator.io.secrets import redact, redact_url, redact_values

BOUNDED = settings(max_examples=60, derandomize=True, deadline=None)
LOWER = string.ascii_lowercase + string.digits
# a password as RFC 3986 allows it unencoded (quotes aside: they end a quoted value), with an upper-case
# letter the lower-case host, path and query names never hold, so a copy of it cannot be there by chance
password = st.builds(lambda a, b: f"P{a}{b}", st.text(string.ascii_letters + string.digits + "-._~!$&()*+,;=%",
                                                       min_size=3, max_size=20), st.text(LOWER, max_size=4))
user = st.text(LOWER + "-._", min_size=1, max_size=12)
host = st.sampled_from(["127.0.0.1:8080", "files.example.org", "[::1]:9000", "host"])
path = st.lists(st.text(LOWER + "-._", min_size=1, max_size=8), max_size=3).map(lambda p: "/" + "/".join(p))


@BOUNDED
@given(scheme=st.sampled_from(["http", "https", "s3", "ftp"]), user=user, password=password, host=host, path=path,
       around=st.sampled_from(["{}", "got '{}'", "giving up on {} after 5 attempts", "['{}']", "({});"]))
def test_a_password_in_a_url_never_survives(scheme: str, user: str, password: str, host: str, path: str,
                                             around: str) -> None:
    text = around.format(f"{scheme}://{user}:{password}@{host}{path}")
    out = redact(text)
    assert password not in out and f"{user}:" not in out
    assert f"***@{host}{path}" in out  # which server and which file stay


@BOUNDED
@given(name=st.sampled_from(["token", "access_token", "sig", "X-Amz-Signature", "download", "v"]),
       value=password, host=host, path=path)
def test_query_values_never_survive(name: str, value: str, host: str, path: str) -> None:
    value = value.replace("&", "").replace("#", "")  # would end the value: a second pair
    out = redact_values({"from": [f"https://{host}{path}?{name}={value}&raw=1"]})
    assert out == {"from": [f"https://{host}{path}?{name}=***&raw=***"]}


@pytest.mark.parametrize(("text", "expected"), [
    ("user:s3cr3tPASS@host.example", "***@host.example"),  # no scheme
    ("https://TOKEN1234@github.com/o/r.git", "https://***@github.com/o/r.git"),  # a token as the user
    ("see ?sig=abc123&x=1", "see ?sig=***&x=1"),  # a query pasted alone: names that say secret
    ("Authorization: Basic dXNlcjpwYXNz", "Authorization: Basic ***"),
    ("got 'hf_RobustnessFakeTokenDoNotLeak0123456789'", "got 'hf_***'"),
    ("http://user:s3cr3t@host:badport/x", "http://***"),  # not parseable: only the scheme is kept
])
def test_credential_shapes_are_masked(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize("text", [
    "http://127.0.0.1:8765/viri/VIRI-Angry-Ir.zip", "https://huggingface.co/datasets/REPO_ID",
    "unknown basic classes ['x']", "hf_hub_download failed", "viri: 3 kept, 0 rejected", "s3://bucket/key.zip",
    "expected sha256 0f1e2d3c4b5a69788796a5b4c3d2e1f0 (12 bytes)",
])
def test_what_is_not_a_credential_is_left_alone(text: str) -> None:
    assert redact(text) == text and redact_url(text) == text
