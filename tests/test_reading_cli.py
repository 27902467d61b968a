"""``python -m app.reading``: the reading pipeline from the command line, without Flask."""

from __future__ import annotations

from PIL import Image

from app.reading.__main__ import main
from tests.images import draw_digit, encode


def test_reads_files_and_says_why_not(tmp_path, capsys):
    seven, blank, broken = tmp_path / "seven.png", tmp_path / "blank.png", tmp_path / "x.png"
    seven.write_bytes(encode(draw_digit("7")))
    blank.write_bytes(encode(Image.new("L", (100, 100), 255)))
    broken.write_bytes(b"not an image")
    assert main([str(seven), str(blank), str(broken)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{seven}: ok, number 7" and out[1].startswith("  box [")
    assert "blank" in out[2] and "not an image" in out[3]
