"""Benchmark: each engine's sentences per second, batched against per-text, on real shapes.

Argos: a random model with Argos' real architecture (6+6 layers, d_model 512, 8 heads, vocab
32k, int8; every output exactly 25 tokens, see tests/argos_package.py) in a temporary Argos
home, argostranslate's own per-text translate() against newsflow's batched path.
CTranslate2: converted-folder models of Marian/OPUS-MT's shape (6+6, d 512, post-norm, swish,
32k) and NLLB-200 distilled 600M's (12+12, d 1024, 16 heads, ffn 4096, 256,206 tokens with
the FLORES codes, int8; tests/ct2_package.py), installed with `newsflow models install --dir`'s
code, each engine's per-text calls against newsflow's batched path. The memory a loaded model
adds to the process (RSS) is printed beside its size on disk. Model loads are not timed.

Each path prints its wall and CPU seconds, the cores it got (CPU / wall) and the machine's load
average around it: on this shared 2-core machine the wall ratio moves with the load (the batched
path's large matrix products use both cores when they are free, the per-text path's small ones
barely do), so the CPU-time ratio is printed beside it as the figure that the load moves least.

    .venv/bin/python bench/translate.py [--paragraphs 200] [--engines argos marian nllb] [--tiny]

Threads, beam and batch size come from ARGOS_INTRA_THREADS, ARGOS_BEAM_SIZE, ARGOS_BATCH_SIZE...
as they do for both paths in production.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
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


_LOAD = """
import sys, ctranslate2
from pathlib import Path

def rss():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

before = rss()
model = ctranslate2.Translator(sys.argv[1], device="cpu", compute_type="int8")
model.translate_batch([["</s>"]], max_decoding_length=4)
print(rss() - before)
"""


def loaded_mb(model_dir: Path) -> float:
    """Resident memory a CTranslate2 model adds once loaded and used, in a fresh process (this
    one's allocator keeps freed memory, so its own RSS would not tell)."""
    done = subprocess.run(
        [sys.executable, "-c", _LOAD, str(model_dir)], capture_output=True, text=True, check=True
    )
    return float(done.stdout.split()[-1])


@dataclass(frozen=True)
class Timing:
    """One timed path: wall and CPU seconds of this process, and the load average around it."""

    wall_s: float
    cpu_s: float
    load: tuple[float, float]  # 1-minute load average before and after

    def line(self, label: str, sentences: int) -> str:
        """The path's figures on one line, the sentences per second first."""
        return (
            f"{label} {self.wall_s:7.2f} s  {sentences / self.wall_s:8.1f} sent/s  "
            f"cpu {self.cpu_s:6.2f} s ({self.cpu_s / self.wall_s:.2f} cores)  "
            f"load {self.load[0]:.1f}->{self.load[1]:.1f} on {len(os.sched_getaffinity(0))} cores"
        )


def timed(run: Callable[[], T]) -> tuple[T, Timing]:
    """Run once, timing wall and process CPU (every thread's, OpenMP's spinning included)."""
    load, wall, cpu = os.getloadavg()[0], time.perf_counter(), time.process_time()
    out = run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return out, Timing(wall, cpu, (load, os.getloadavg()[0]))


def speed_up(label: str, single: Timing, batched: Timing) -> str:
    """Wall ratio, and the CPU-time ratio that the machine's load moves less."""
    return (
        f"{label} {single.wall_s / batched.wall_s:.1f}x "
        f"(CPU time {single.cpu_s / batched.cpu_s:.1f}x)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paragraphs", type=int, default=200)
    parser.add_argument("--ct2-paragraphs", type=int, default=30, help="for marian and nllb")
    parser.add_argument("--engines", nargs="+", default=["argos", "marian", "nllb"])
    parser.add_argument("--tiny", action="store_true", help="tiny models (a smoke run)")
    args = parser.parse_args(argv)

    home = Path(tempfile.mkdtemp(prefix="newsflow-bench-"))
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        os.environ[var] = str(home / var.lower())
    os.environ["ARGOS_PACKAGES_DIR"] = str(home / "packages")
    os.environ["ARGOS_CHUNK_TYPE"] = "DEFAULT"  # the splitter bundled in the package
    os.environ["ARGOS_PACKAGE_INDEX"] = "http://127.0.0.1:9/"  # never the network

    if "argos" in args.engines:
        bench_argos(home, paragraphs(args.paragraphs), args.tiny)
    for engine in ("marian", "nllb"):
        if engine in args.engines:
            bench_ct2(home, engine, paragraphs(args.ct2_paragraphs), args.tiny)
    return 0


def bench_argos(home: Path, texts: list[str], tiny: bool) -> None:
    """argostranslate's per-text translate() against newsflow's batched path, one Argos model."""
    from argos_package import ARGOS_SIZE, Architecture, build_argos_package

    from processing import translate
    from processing.models import install_model_file

    arch = Architecture() if tiny else ARGOS_SIZE
    started = time.perf_counter()
    model = install_model_file(build_argos_package(home, "ru", architecture=arch))
    size_mb = model.size_bytes() / 1e6
    print(f"model: {arch} ({size_mb:.0f} MB), built in {time.perf_counter() - started:.1f} s")

    import argostranslate.translate as argos
    from argostranslate import settings

    ours = translate._translator(model)  # loaded once, as the pipeline does
    print(f"loaded: +{loaded_mb(model.path / 'model'):.0f} MB resident")
    sentences = sum(len(ours.splitter.split_sentences(t)) for t in texts)
    print(
        f"{len(texts)} paragraphs, {sentences} sentences; beam {settings.beam_size}, "
        f"batch {settings.batch_size}, intra threads {settings.intra_threads or 'auto'}"
    )
    argos.translate(texts[0], "ru", "en")  # load argos' own copy of the model before timing

    argos_out, single = timed(lambda: [argos.translate(text, "ru", "en") for text in texts])
    results, batched = timed(
        lambda: translate.translate_articles([("ru", None, text) for text in texts])
    )
    assert all(r.status == "done" for r in results), {r.error for r in results}

    same = sum(a == r.text_en for a, r in zip(argos_out, results, strict=True))
    words = sum(len(r.text_en.split()) for r in results if r.text_en) / len(texts)
    print(f"output: {words:.1f} words per paragraph; identical to argos for {same}/{len(texts)}")
    print(single.line("argostranslate translate() per text:", sentences))
    print(batched.line("newsflow batched translate_articles:", sentences))
    print(speed_up("speed-up:", single, batched))


def bench_ct2(home: Path, engine: str, texts: list[str], tiny: bool) -> None:
    """One CTranslate2 engine's model: its per-text calls against newsflow's batched path."""
    from argos_package import Architecture
    from argostranslate import settings
    from ct2_package import MARIAN_SIZE, NLLB_600M, build_marian_folder, build_nllb_folder

    from processing import ct2_models, translate
    from processing.models import available_models

    started = time.perf_counter()
    if engine == "nllb":
        folder = build_nllb_folder(
            home / "nllb-600m-shape",
            architecture=(Architecture(output_tokens=25, tied=True) if tiny else NLLB_600M),
        )
    else:
        arch = (
            MARIAN_SIZE
            if not tiny
            else Architecture(output_tokens=25, pre_norm=False, activation="swish", tied=True)
        )
        folder = build_marian_folder(home / "opus-mt-ru-en", "ru", arch)
    built = time.perf_counter() - started
    manifest = ct2_models.install_folder(folder, ["ru"], models_dir=home / "ct2")
    size_mb = manifest.size_bytes() / 1e6
    model = available_models({"ru": manifest.name}, home / "ct2")["ru"]
    ours = translate._translator(model)
    print(
        f"\n{engine}: {model.model_id} ({size_mb:.0f} MB on disk), built in {built:.1f} s, "
        f"loaded: +{loaded_mb(model.path):.0f} MB resident"
    )
    sentences = sum(len(translate.split_sentences(t)) for t in texts)
    print(f"{len(texts)} paragraphs, {sentences} sentences")
    ours.translate(texts[:1])  # warm up

    single, single_t = timed(lambda: [ours.translate([text])[0] for text in texts])
    batched, batched_t = timed(lambda: ours.translate(texts))
    same = sum(a == b for a, b in zip(single, batched, strict=True))
    sample = [ours.tokens(s) for s in translate.split_sentences(texts[0])]
    prefix = [[model.target_token]] * len(sample) if model.target_token else None
    hypotheses = ours.loaded.model.translate_batch(
        sample, target_prefix=prefix, beam_size=settings.beam_size
    )
    length = sum(len(h.hypotheses[0]) for h in hypotheses) / len(sample)
    print(f"output: {length:.0f} tokens a sentence; identical per text for {same}/{len(texts)}")
    print(single_t.line(f"{engine} per text: ", sentences))
    print(batched_t.line(f"{engine} batched:  ", sentences))
    print(speed_up(f"{engine} speed-up:", single_t, batched_t))
    shutil.rmtree(folder)


if __name__ == "__main__":
    sys.exit(main())
