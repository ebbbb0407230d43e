"""Benchmark: argostranslate's per-text translate() against newsflow's batched path.

Builds a random model with Argos' real architecture (6+6 layers, d_model 512, 8 heads, vocab
32k, int8; every output exactly 25 tokens, see tests/argos_package.py), installs it into a
temporary Argos home and translates the same paragraphs both ways in one process, model loads
excluded. Prints sentences per second for each and the ratio (target: newsflow >= 3x).

    .venv/bin/python bench/translate.py [--paragraphs 200] [--tiny]

Threads, beam and batch size come from ARGOS_INTRA_THREADS, ARGOS_BEAM_SIZE, ARGOS_BATCH_SIZE...
as they do for both paths in production.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]  # tests/argos_package.py builds the model


def paragraphs(count: int, seed: int = 3) -> list[str]:
    """Deterministic Russian paragraphs of 1-4 sentences of 12-30 words (~23 tokens).

    The words are those the test tokenizer was trained on, so a word is a token or two, as with
    Argos' real 32k-piece tokenizers.
    """
    from argos_package import WORDS

    rng, vocabulary = random.Random(seed), WORDS["ru"].split()
    out = []
    for _ in range(count):
        sentences = []
        for _ in range(rng.randint(1, 4)):
            words = [rng.choice(vocabulary) for _ in range(rng.randint(12, 30))]
            sentences.append(" ".join(words).capitalize() + rng.choice(".!?"))
        out.append(" ".join(sentences))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paragraphs", type=int, default=200)
    parser.add_argument("--tiny", action="store_true", help="tiny model (a smoke run)")
    args = parser.parse_args(argv)

    home = Path(tempfile.mkdtemp(prefix="newsflow-bench-"))
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        os.environ[var] = str(home / var.lower())
    os.environ["ARGOS_PACKAGES_DIR"] = str(home / "packages")
    os.environ["ARGOS_CHUNK_TYPE"] = "DEFAULT"  # the splitter bundled in the package
    os.environ["ARGOS_PACKAGE_INDEX"] = "http://127.0.0.1:9/"  # never the network

    from argos_package import ARGOS_SIZE, Architecture, build_argos_package

    from processing import translate
    from processing.models import install_model_file

    arch = Architecture() if args.tiny else ARGOS_SIZE
    started = time.perf_counter()
    model = install_model_file(build_argos_package(home, "ru", architecture=arch))
    size_mb = model.size_bytes() / 1e6
    print(f"model: {arch} ({size_mb:.0f} MB), built in {time.perf_counter() - started:.1f} s")

    import argostranslate.translate as argos
    from argostranslate import settings

    texts = paragraphs(args.paragraphs)
    ours = translate._translator(model)  # loaded once, as the pipeline does
    sentences = sum(len(ours.splitter.split_sentences(t)) for t in texts)
    print(
        f"{len(texts)} paragraphs, {sentences} sentences; beam {settings.beam_size}, "
        f"batch {settings.batch_size}, intra threads {settings.intra_threads or 'auto'}"
    )
    argos.translate(texts[0], "ru", "en")  # load argos' own copy of the model before timing

    started = time.perf_counter()
    argos_out = [argos.translate(text, "ru", "en") for text in texts]
    argos_s = time.perf_counter() - started

    started = time.perf_counter()
    results = translate.translate_articles([("ru", None, text) for text in texts])
    ours_s = time.perf_counter() - started
    assert all(r.status == "done" for r in results), {r.error for r in results}

    same = sum(a == r.text_en for a, r in zip(argos_out, results, strict=True))
    words = sum(len(r.text_en.split()) for r in results if r.text_en) / len(texts)
    print(f"output: {words:.1f} words per paragraph; identical to argos for {same}/{len(texts)}")
    print(
        f"argostranslate translate() per text: {argos_s:7.2f} s  {sentences / argos_s:8.1f} sent/s"
    )
    print(f"newsflow batched translate_articles: {ours_s:7.2f} s  {sentences / ours_s:8.1f} sent/s")
    print(f"speed-up: {argos_s / ours_s:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
