"""`newsflow extract` on whatever a user hands it: binaries, endless devices, huge files and
pages with lying charsets each get a clear per-file error or a result; the others still print."""

import json
import sys
from pathlib import Path

import pytest
from hostile_site import ARTICLE, COSTLY, XHTML

from flows.cli import main


@pytest.fixture
def good(tmp_path: Path) -> Path:
    path = tmp_path / "good.html"
    path.write_text(ARTICLE, encoding="utf-8")
    return path


def _run(capsys, *args: str) -> tuple[int, list[dict], str]:
    code = main(["extract", *args])
    captured = capsys.readouterr()
    return code, [json.loads(line) for line in captured.out.splitlines()], captured.err


def test_a_binary_file_is_refused_and_the_others_are_extracted(good, tmp_path, capsys):
    binary = tmp_path / "python.bin"
    binary.write_bytes(Path(sys.executable).resolve().read_bytes()[:200_000])  # an ELF file
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n")
    code, records, err = _run(capsys, str(binary), str(good), str(pdf))
    assert code == 1
    assert [r["title"] for r in records] == ["Flood in Derbent"]
    assert f"{binary}: not an HTML page (binary data)" in err
    assert f"{pdf}: not an HTML page" in err


def test_an_endless_device_is_read_only_up_to_the_cap(good, capsys):
    code, records, err = _run(capsys, "/dev/zero", str(good), "--max-bytes", "1000000")
    assert code == 1 and len(records) == 1
    assert "/dev/zero: larger than 1000000 bytes" in err


def test_a_file_over_the_cap_is_refused(good, tmp_path, capsys):
    big = tmp_path / "big.html"
    big.write_text(ARTICLE.replace("<p>", "<p>" + "x" * 2000, 1) * 3, encoding="utf-8")
    code, records, err = _run(capsys, str(big), str(good), "--max-bytes", "5000")
    assert code == 1 and len(records) == 1
    assert f"{big}: larger than 5000 bytes" in err


@pytest.mark.parametrize("charset", ["rot13", "base64", "hex"])
def test_a_page_declaring_a_charset_that_is_no_text_encoding_is_extracted(
    charset, tmp_path, capsys
):
    page = tmp_path / f"{charset}.html"
    page.write_text(ARTICLE.replace("<head>", f'<head><meta charset="{charset}">'), "utf-8")
    code, records, err = _run(capsys, str(page))
    assert (code, err) == (0, "")
    assert records[0]["title"] == "Flood in Derbent"


def test_xhtml_with_an_xml_declaration_is_extracted(tmp_path, capsys):
    page = tmp_path / "page.xhtml"
    page.write_text(XHTML, encoding="utf-8")
    code, records, _ = _run(capsys, str(page))
    assert code == 0 and records[0]["title"] == "Flood in Derbent"
    assert "rescuers evacuated" in records[0]["text"]


def test_a_costly_page_stops_at_its_cpu_budget_and_the_others_are_extracted(
    good, tmp_path, capsys, configure
):
    """The page's source allows 3 s of CPU: the page that needs about 15 s is reported
    too_costly within it, the good one (and the first page's warm-up) still fits."""
    costly = tmp_path / "costly.html"
    costly.write_text(COSTLY, encoding="utf-8")
    sources = tmp_path / "sources.yaml"
    source = {"id": "s", "kind": "feed", "base_url": "http://news.example", "feed_url": "/f"}
    sources.write_text(json.dumps({"sources": [source | {"limits": {"page_cpu_seconds": 3}}]}))
    configure(sources_file=sources)
    code, records, err = _run(capsys, str(costly), str(good), "--url", "http://news.example/a")
    assert code == 1 and [r["title"] for r in records] == ["Flood in Derbent"]
    assert f"{costly}: too_costly: over the page CPU budget (page_cpu_seconds)" in err
