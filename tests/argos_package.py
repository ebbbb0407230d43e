"""Build a tiny but real Argos Translate package from scratch, so tests never download a model.

The model has random weights (its output is gibberish that does not depend on the input), but the
package has the real layout: CTranslate2 model, SentencePiece tokenizer and an offline MiniSBD
sentence splitter, zipped under one top-level folder with metadata.json.
"""

from __future__ import annotations

import functools
import io
import json
import random
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

SENTENCE_END = ".!?。！？"
_ZIP_TIME = (2024, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Architecture:
    """Shape of the random Transformer; the default is tiny, ARGOS_SIZE is what Argos ships."""

    layers: int = 2
    d_model: int = 64
    heads: int = 4
    ffn: int = 128
    vocab: int = 0  # 0: the tokenizer's pieces only; more pads the vocabulary to this size
    quantization: str | None = None
    eos_bias: float = 3.0  # on the `</s>` logit: random models otherwise decode 256 tokens
    # >0: every output is exactly this many tokens (the decoder's layers barely touch its
    # residual stream, and the projection maps each token of a fixed chain to the next one)
    output_tokens: int = 0
    pre_norm: bool = True  # False: post-norm, as Marian
    activation: str = "relu"  # a ctranslate2.specs.common_spec.Activation name
    tied: bool = False  # encoder and decoder share their embeddings (NLLB, Marian)


# eos_bias 6: beam search keeps 3 runner-up beams off the chain, and without a pull towards
# `</s>` they wander to the 256-token limit (measured: beam 4 ~100x slower than greedy, unlike
# a real model); at 6 they end within a few steps while the best beam still follows the chain.
ARGOS_SIZE = Architecture(6, 512, 8, 2048, 32_000, "int8", eos_bias=6.0, output_tokens=25)

WORDS = {
    "ru": "новости город власти заявили сегодня утром дорога мост школа суд рынок цены выросли",
    "en": "news city officials said today morning road bridge school court market prices rose",
    "zh": "新闻 城市 官员 表示 今天 早上 道路 桥梁 学校 法院 市场 价格 上涨",
}


def build_argos_package(
    dest_dir: Path,
    from_code: str = "ru",
    to_code: str = "en",
    version: str = "0.1",
    *,
    splitter: str | None = "minisbd",
    architecture: Architecture = Architecture(),
) -> Path:
    """Write a deterministic `.argosmodel` into dest_dir and return its path.

    splitter: "minisbd" (bundled rule-based ONNX model), "stanza" (an empty stanza/ folder, for
    tests that fake stanza) or None (no bundled splitter, which argostranslate would download).
    """
    data = _package_bytes(from_code, to_code, version, splitter, architecture)
    path = Path(dest_dir) / f"{_top_folder(from_code, to_code, version)}.argosmodel"
    path.write_bytes(data)
    return path


@contextmanager
def served_index(directory: Path, packages: list[dict]) -> Iterator[str]:
    """A local Argos package index: index.json listing `packages` and the files beside it.

    Yields the base URL on 127.0.0.1; each package's `links` are file names in `directory`,
    written to the index as URLs under that base.
    """
    handler = functools.partial(_QuietHandler, directory=str(directory))
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}/"
        index = [{**p, "links": [base + name for name in p.get("links", [])]} for p in packages]
        (directory / "index.json").write_text(json.dumps(index))
        try:
            yield base
        finally:
            server.shutdown()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def build_corrupt_package(dest_dir: Path) -> Path:
    """Write a `.argosmodel` that is a valid zip but has no metadata.json (not a package)."""
    path = Path(dest_dir) / "translate-xx_en-corrupt.argosmodel"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("translate-xx_en/model/README.txt", "no metadata here")
    return path


def _top_folder(from_code: str, to_code: str, version: str) -> str:
    return f"translate-{from_code}_{to_code}-{version.replace('.', '_')}"


@functools.cache
def _package_bytes(
    from_code: str, to_code: str, version: str, splitter: str | None, architecture: Architecture
) -> bytes:
    """Build the package once per (pair, version, splitter, architecture) in a test session."""
    top = _top_folder(from_code, to_code, version)
    sp_model, pieces = _sentencepiece_model()
    metadata = {
        "type": "translate",
        "package_version": version,
        "argos_version": "1.11.0",
        "from_code": from_code,
        "from_name": f"Test {from_code}",
        "to_code": to_code,
        "to_name": f"Test {to_code}",
        "links": [],
    }
    files: dict[str, bytes] = {
        "metadata.json": json.dumps(metadata, indent=2).encode(),
        "sentencepiece.model": sp_model,
        "README.md": b"Tiny random test model built by tests/argos_package.py.\n",
    }
    files.update(
        {f"model/{name}": data for name, data in _ctranslate2_model(pieces, architecture).items()}
    )
    if splitter == "minisbd":
        files[f"minisbd/{from_code}.onnx"] = _minisbd_model(from_code)
    elif splitter == "stanza":
        files["stanza/README.txt"] = b"placeholder: tests replace stanza.Pipeline\n"
    elif splitter is not None:
        raise ValueError(f"unknown splitter {splitter!r}")

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(files):
            zf.writestr(zipfile.ZipInfo(f"{top}/{name}", _ZIP_TIME), files[name])
    return buffer.getvalue()


def _corpus(lines: int = 300) -> list[str]:
    """Mixed Russian/English/Chinese sentences for training the tokenizer."""
    rng = random.Random(7)
    out = []
    for i in range(lines):
        lang = ("ru", "en", "zh")[i % 3]
        words = WORDS[lang].split()
        sep = "" if lang == "zh" else " "
        sentence = sep.join(rng.choice(words) for _ in range(rng.randint(3, 9)))
        out.append(sentence + rng.choice(SENTENCE_END[:3] if sep else SENTENCE_END[3:]))
    return out


@functools.cache
def _sentencepiece_model() -> tuple[bytes, tuple[str, ...]]:
    """Train a ~300-piece SentencePiece model in memory; return it and its pieces in id order."""
    model, pieces = train_sentencepiece(tuple(_corpus()), 300)
    assert pieces[:3] == ("<unk>", "<s>", "</s>"), pieces[:3]
    return model, pieces


def train_sentencepiece(lines: tuple[str, ...], vocab_size: int) -> tuple[bytes, tuple[str, ...]]:
    """A SentencePiece model trained in memory on these lines, and its pieces in id order."""
    import sentencepiece as spm

    writer = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=writer,
        vocab_size=vocab_size,
        hard_vocab_limit=False,
        normalization_rule_name="identity",
        character_coverage=1.0,
        num_threads=1,
        seed_sentencepiece_size=10_000,
        minloglevel=2,
    )
    model = writer.getvalue()
    sp = spm.SentencePieceProcessor(model_proto=model)
    return model, tuple(sp.id_to_piece(i) for i in range(sp.get_piece_size()))


def _ctranslate2_model(pieces: tuple[str, ...], arch: Architecture) -> dict[str, bytes]:
    """An Argos-style model: the tokenizer's pieces (padded to arch.vocab) on both sides."""
    vocabulary = list(pieces) + [f"<pad{i}>" for i in range(arch.vocab - len(pieces))]
    with tempfile.TemporaryDirectory() as tmp:
        save_ctranslate2_model(Path(tmp), vocabulary, arch)
        return {p.name: p.read_bytes() for p in sorted(Path(tmp).iterdir()) if p.is_file()}


def save_ctranslate2_model(
    dest: Path,
    vocabulary: list[str],
    arch: Architecture,
    *,
    decoder_start: str = "<s>",
    chain_from: str | None = None,
) -> None:
    """Save a random Transformer into dest; `</s>` is biased so decoding stops early.

    With arch.output_tokens, the output after decoder_start (or after chain_from, a target
    prefix token) is a fixed chain of that many ordinary tokens (from the vocabulary's first
    one that is not special). arch.pre_norm False and activation "swish" are
    Marian's; pre-norm with ReLU is Argos' and NLLB's.
    """
    from ctranslate2.specs import TransformerSpec, common_spec

    d_model, ffn = arch.d_model, arch.ffn
    rng = np.random.default_rng(11)
    vocab = len(vocabulary)

    def w(*shape: int, scale: float = 0.1) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    quiet = 0.001 if arch.output_tokens else 0.1  # decoder sublayers' share of the residual

    def norm(spec) -> None:
        spec.gamma = np.ones(d_model, np.float32)
        spec.beta = np.zeros(d_model, np.float32)

    def ffn_layer(spec, out: float = 0.1) -> None:
        norm(spec.layer_norm)
        spec.linear_0.weight, spec.linear_0.bias = w(ffn, d_model), w(ffn)
        spec.linear_1.weight = w(d_model, ffn, scale=out)
        spec.linear_1.bias = w(d_model, scale=out)

    def self_attention(spec, out: float = 0.1) -> None:
        norm(spec.layer_norm)
        spec.linear[0].weight, spec.linear[0].bias = w(3 * d_model, d_model), w(3 * d_model)
        spec.linear[1].weight = w(d_model, d_model, scale=out)
        spec.linear[1].bias = w(d_model, scale=out)

    activation = getattr(common_spec.Activation, arch.activation.upper())
    spec = TransformerSpec.from_config(
        (arch.layers, arch.layers), arch.heads, pre_norm=arch.pre_norm, activation=activation
    )
    spec.config.decoder_start_token = decoder_start
    spec.encoder.embeddings[0].weight = w(vocab, d_model)
    if arch.pre_norm:
        norm(spec.encoder.layer_norm)
    for layer in spec.encoder.layer:
        self_attention(layer.self_attention)
        ffn_layer(layer.ffn)
    # tied (one copy in model.bin), as NLLB and Marian have them
    embeddings = spec.encoder.embeddings[0].weight if arch.tied else w(vocab, d_model)
    spec.decoder.embeddings.weight = embeddings
    if arch.pre_norm:
        norm(spec.decoder.layer_norm)
    for layer in spec.decoder.layer:
        self_attention(layer.self_attention, quiet)
        cross = layer.attention
        norm(cross.layer_norm)
        cross.linear[0].weight, cross.linear[0].bias = w(d_model, d_model), w(d_model)
        cross.linear[1].weight, cross.linear[1].bias = w(2 * d_model, d_model), w(2 * d_model)
        cross.linear[2].weight = w(d_model, d_model, scale=quiet)
        cross.linear[2].bias = w(d_model, scale=quiet)
        ffn_layer(layer.ffn, quiet)
    bias = np.zeros(vocab, np.float32)
    bias[vocabulary.index("</s>")] = arch.eos_bias
    projection = w(vocab, d_model)
    if arch.output_tokens:  # start → first → second → ... → </s>
        first = next(i for i, t in enumerate(vocabulary) if not t.startswith("<"))
        chain = [
            vocabulary.index(chain_from or decoder_start),
            *range(first, first + arch.output_tokens),
            vocabulary.index("</s>"),
        ]
        for before, after in zip(chain, chain[1:], strict=False):
            projection[after] = 1.5 * embeddings[before] / np.linalg.norm(embeddings[before])
    spec.decoder.projection.weight, spec.decoder.projection.bias = projection, bias
    spec.register_source_vocabulary(vocabulary)
    spec.register_target_vocabulary(vocabulary)
    spec.validate()
    spec.optimize(quantization=arch.quantization)
    spec.save(str(dest))


def _minisbd_model(lang: str) -> bytes:
    """A rule-based MiniSBD ONNX model: every character ends a token, `.!?。！？` end a sentence.

    MiniSBD feeds character ids (`units`) and features and takes the argmax over 5 classes per
    character; a single Gather over a lookup table gives those scores.
    """
    import onnx
    from onnx import TensorProto, helper

    units = ["<PAD>", "<UNK>", *SENTENCE_END]
    table = np.zeros((len(units), 5), np.float32)
    table[:, 1] = 1.0  # token end
    table[2:, 2] = 2.0  # sentence end for the punctuation rows
    graph = helper.make_graph(
        [helper.make_node("Gather", ["table", "units"], ["scores"], axis=0)],
        "rule_sbd",
        [
            helper.make_tensor_value_info("units", TensorProto.INT64, ["batch", "chars"]),
            helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", "chars", 1]),
        ],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["batch", "chars", 5])],
        [onnx.numpy_helper.from_array(table, "table")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    vocab = {
        "lang": lang,
        "idx": 0,
        "cutoff": 0,
        "lower": False,
        "_id2unit": units,
        "_unit2id": {u: i for i, u in enumerate(units)},
    }
    config = {"feat_funcs": ["space_before"], "max_seqlen": 1000, "batch_size": 32}
    helper.set_model_props(
        model, {"lang_code": lang, "config": json.dumps(config), "vocab": json.dumps(vocab)}
    )
    onnx.checker.check_model(model)
    return model.SerializeToString()
