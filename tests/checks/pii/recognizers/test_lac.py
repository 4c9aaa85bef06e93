"""The LAC tagger read from jieba's bundled files: file format, the network, the CRF's probabilities."""

from __future__ import annotations

import itertools
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guard.checks.pii.recognizers.lac import (
    LacTagger,
    ModelFilesError,
    _read_tensor,
    lac_files,
    shared_tagger,
)


@pytest.fixture(scope="module")
def tagger() -> LacTagger:
    return shared_tagger()


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _lod_tensor(values: np.ndarray, dtype: int = 5, packed: bool = False) -> bytes:
    """A file in PaddlePaddle's LoDTensor layout, written the way Paddle writes it."""
    dims = b"".join(_varint(d) for d in values.shape)
    if packed:
        desc = b"\x08" + _varint(dtype) + b"\x12" + _varint(len(dims)) + dims
    else:
        desc = b"\x08" + _varint(dtype) + b"".join(b"\x10" + _varint(d) for d in values.shape)
    head = struct.pack("<IQ", 0, 0) + struct.pack("<Ii", 0, len(desc)) + desc
    return head + values.astype("<f4").tobytes()


@pytest.mark.parametrize("packed", [False, True], ids=["dims repeated", "dims packed"])
def test_reads_a_lod_tensor_file(tmp_path: Path, packed: bool) -> None:
    values = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    path = tmp_path / "w"
    path.write_bytes(_lod_tensor(values, packed=packed))
    np.testing.assert_array_equal(_read_tensor(path), values)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b[:-4], "bytes of data"),  # one float short
        (lambda b: b[:10], "truncated"),
        (lambda b: b.replace(b"\x08\x05", b"\x08\x06", 1), "data type 6"),  # float64 declared
    ],
    ids=["short data", "truncated header", "wrong dtype"],
)
def test_a_broken_tensor_file_is_refused(tmp_path: Path, mutate: object, message: str) -> None:
    path = tmp_path / "w"
    path.write_bytes(mutate(_lod_tensor(np.ones((2, 3), dtype=np.float32))))  # type: ignore[operator]
    with pytest.raises(ModelFilesError, match=message):
        _read_tensor(path)


def test_an_incomplete_model_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "model_baseline").mkdir()
    with pytest.raises(ModelFilesError, match="incomplete"):
        LacTagger(tmp_path)


def test_jieba_ships_the_model() -> None:
    folder = lac_files()
    assert (folder / "model_baseline" / "word_emb").stat().st_size > 10_000_000
    assert (folder / "word.dic").is_file() and (folder / "tag.dic").is_file()


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("您的联系人王小明已经确认，客户经理李娜稍后会给您回电话。", ["王小明", "李娜"]),
        ("昨天陈建国来网点办理了业务，他说额度不够用。", ["陈建国"]),
        ("请联系王小明", ["王小明"]),
        ("您好，您的额度是四千元，现在申请还可以享受三十天免息券。", []),
        ("张先生您好。", ["张先生"]),  # the raw tagging; `model_names` drops address forms
        ("周一到周五都可以还款，马上金融的利率是多少？", []),
        ("", []),
        ("。。。\n\n", []),
    ],
)
def test_names(tagger: LacTagger, text: str, names: list[str]) -> None:
    found = tagger.person_spans(text, 0.9)
    assert [text[s:e] for s, e, _ in found.spans] == names
    assert all(0.9 <= p <= 1.0 + 1e-9 for _, _, p in found.spans)
    assert found.begin.shape == (len(text),)


def test_offsets_are_the_original_texts(tagger: LacTagger) -> None:
    text = "您的联系人王小明，电话１３９。客户经理李娜会联系您！"  # full-width digits and marks
    assert [text[s:e] for s, e, _ in tagger.person_spans(text, 0.9).spans] == ["王小明", "李娜"]


def test_threshold_below_one_half_is_refused(tagger: LacTagger) -> None:
    with pytest.raises(ValueError, match=r"at least 0\.5"):
        tagger.person_spans("王小明", 0.4)


def test_a_higher_threshold_keeps_a_subset(tagger: LacTagger) -> None:
    text = "上周孙悦和周琦都来过，陈建国也来了，客户经理李娜在场。"
    low = tagger.person_spans(text, 0.5).spans
    high = tagger.person_spans(text, 0.95).spans
    assert set(high) <= set(low)
    assert all(p >= 0.95 for *_, p in high)


def test_span_probability_is_the_sum_over_every_tagging(tagger: LacTagger) -> None:
    """On a three-character text, the forward–backward probability equals brute-force enumeration."""
    em32, lengths = tagger.emissions(["李娜说"])
    em = em32[0].astype(np.float64)
    log_alpha, log_beta, log_z = tagger._forward_backward(em[None], lengths)
    n = em.shape[1]
    paths = np.array(list(itertools.product(range(n), repeat=3)))
    scores = (
        tagger._start[paths[:, 0]]
        + em[0, paths[:, 0]]
        + tagger._trans[paths[:, 0], paths[:, 1]]
        + em[1, paths[:, 1]]
        + tagger._trans[paths[:, 1], paths[:, 2]]
        + em[2, paths[:, 2]]
        + tagger._end[paths[:, 2]]
    )
    z = np.logaddexp.reduce(scores)
    assert log_z[0] == pytest.approx(z, rel=1e-9)
    b, i = tagger._per_b, tagger._per_i
    in_span = (paths[:, 0] == b) & (paths[:, 1] == i) & (paths[:, 2] != i)
    want = float(np.exp(np.logaddexp.reduce(scores[in_span]) - z))
    got = float(np.exp(tagger._span_log_probability(em, log_alpha[0], log_beta[0], float(log_z[0]), 3, 0, 2)))
    assert got == pytest.approx(want, rel=1e-6)
    assert want > 0.5  # the model does read 李娜 as a name


_CJK = st.text(
    alphabet=st.sampled_from("王李张刘陈明华国强的是在了我有和人这中大为上个说们到会"),
    min_size=1,
    max_size=12,
)


@settings(max_examples=25, deadline=None)
@given(st.lists(_CJK, min_size=2, max_size=4))
def test_batching_does_not_change_a_pieces_emissions(pieces: list[str]) -> None:
    tagger = shared_tagger()
    together, lengths = tagger.emissions(pieces)
    for k, piece in enumerate(pieces):
        alone, _ = tagger.emissions([piece])
        np.testing.assert_allclose(together[k, : lengths[k]], alone[0], rtol=1e-4, atol=1e-4)


@settings(max_examples=25, deadline=None)
@given(st.lists(_CJK, min_size=1, max_size=3))
def test_tag_posteriors_sum_to_one(pieces: list[str]) -> None:
    tagger = shared_tagger()
    em32, lengths = tagger.emissions(pieces)
    log_alpha, log_beta, log_z = tagger._forward_backward(em32.astype(np.float64), lengths)
    for k, length in enumerate(lengths):
        post = np.exp(log_alpha[k, :length] + log_beta[k, :length] - log_z[k])
        np.testing.assert_allclose(post.sum(axis=1), 1.0, rtol=1e-6)


def test_clauses_without_a_name_start_are_not_tagged(tagger: LacTagger) -> None:
    from guard.checks.pii.recognizers.person import NAME_STARTS

    text = "您的额度已经通过了，联系人王小明。"
    found = tagger.person_spans(text, 0.9, NAME_STARTS)
    assert [text[s:e] for s, e, _ in found.spans] == ["王小明"]
    assert np.isnan(found.begin[:9]).all()  # 您的额度已经通过了: no character a name starts with
    assert not np.isnan(found.begin[10:]).any()
    everything = tagger.person_spans(text, 0.9)
    assert not np.isnan(everything.begin).any()
