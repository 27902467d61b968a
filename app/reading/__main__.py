"""``python -m app.reading IMAGE...``: read the digits in image files, without the server.

Prints, for each file, the number read and every mark with its box, reading and confidence
(the same pipeline and network as POST /predict; ``--params`` picks another parameter file).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.blas import pin_blas_threads


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.reading", description=__doc__)
    parser.add_argument("images", nargs="+", type=Path)
    parser.add_argument("--params", default=None, help="parameter file (default: the shipped)")
    args = parser.parse_args(argv)
    pin_blas_threads()
    from app.factory import default_config, load_predictor
    from app.reading.decode import decode_image
    from app.reading.errors import ImageError
    from app.reading.reader import read

    model = load_predictor(args.params or default_config()["PARAMS_PATH"])
    failed = 0
    for path in args.images:
        try:
            reading = read(decode_image(path.read_bytes()), model.predict_many)
        except (OSError, ImageError) as exc:
            print(f"{path}: {getattr(exc, 'message', exc)}")
            failed += 1
            continue
        if reading.blank_reason:
            print(f"{path}: {reading.blank_reason}")
            continue
        print(f"{path}: {reading.status}, number {reading.number or '(none)'}")
        for mark in reading.marks:
            said = mark.prediction
            what = (f"{said.digit} ({said.confidence:.1%})" if not said.rejected
                    else f"not a digit (best guess {said.digit}, {said.confidence:.1%})")
            print(f"  box {list(mark.box)}: {what}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
