"""Property-based fuzzing of the envelope and base64url, which parse untrusted
bytes: each either succeeds or raises EnvelopeError, never anything else."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from services.protocol import envelope
from services.protocol.envelope import EnvelopeError, Payload, SecretFile

names = st.text(min_size=1, max_size=40).filter(lambda n: len(n.encode()) <= 255)
files = st.builds(SecretFile, name=names, type=st.text(max_size=30), data=st.binary(max_size=3000))
payloads = st.builds(Payload, text=st.text(max_size=2000), files=st.tuples(files) | st.just(()))


@given(payloads)
def test_any_payload_round_trips_through_the_framing(payload: Payload) -> None:
    framed = envelope.encode_payload(payload)
    assert len(framed) == envelope.padded_length(len(framed))
    assert envelope.decode_payload(framed) == payload


@given(st.binary(max_size=4096))
def test_arbitrary_frames_decode_or_raise_envelope_error(data: bytes) -> None:
    with contextlib.suppress(EnvelopeError):
        envelope.decode_payload(data)


@settings(max_examples=50)
@given(st.binary(max_size=200))
def test_arbitrary_ciphertexts_open_or_raise_envelope_error(blob: bytes) -> None:
    keys = envelope.derive_secret_keys(bytes(32))
    with contextlib.suppress(EnvelopeError):
        envelope.open_secret(blob, keys)


@given(st.text(max_size=100))
def test_b64u_decode_accepts_only_canonical_text(text: str) -> None:
    try:
        data = envelope.b64u_decode(text)
    except EnvelopeError:
        return
    assert envelope.b64u_encode(data) == text


@given(st.binary(max_size=100))
def test_b64u_round_trips(data: bytes) -> None:
    assert envelope.b64u_decode(envelope.b64u_encode(data)) == data
