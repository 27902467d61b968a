"""The JSON answer of POST /predict, built from a :class:`app.reading.reader.Reading`.

- ``status``: "ok" (at least one digit read), "not_a_digit" (marks, none of them a digit)
  or "no_digit" (blank); ``message`` says the same in a sentence.
- ``number``: the digits read, left to right, as a string ("" when none).
- ``digits``: every mark, left to right: its ``digit`` (null when it is not a digit, with
  its best ``guess``), ``confidence``, ``probabilities``, ``not_digit_probability``,
  ``box`` [x0, y0, x1, y1] in the uploaded image's pixels, the 28x28 ``input_image`` and
  its ``frame`` over the upload (pixel column u of the 28x28 starts at x0 + u / scale).
- ``digit``, ``confidence``, ``probabilities``, ``not_digit_probability``,
  ``input_image``: as before numbers were read: the one digit's, when exactly one digit
  was read (or the one mark's, when it is not a digit); null when there are several.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.pngs import heatmap_data_url, png_data_url
from app.predictor import Explanation
from app.reading.reader import DigitRead, Reading

BLANK_IMAGE = np.zeros((28, 28), np.float32)


def mark_answer(mark: DigitRead) -> dict[str, Any]:
    """One mark: what the network read, where, and the 28x28 it saw."""
    prediction = mark.prediction
    read = not prediction.rejected
    answer = {
        "status": "ok" if read else "not_a_digit",
        "digit": prediction.digit if read else None,
        "confidence": round(prediction.confidence, 6) if read else None,
        "probabilities": [round(float(p), 6) for p in prediction.probabilities],
        "not_digit_probability": round(float(prediction.not_digit), 6),
        "box": list(mark.box),
        "frame": {"scale": round(mark.frame.scale, 6), "x0": round(mark.frame.x0, 3),
                  "y0": round(mark.frame.y0, 3)},
        "input_image": png_data_url(mark.image),
    }
    if not read:
        answer["guess"] = guess(mark)
    return answer


def explanation_answer(explanation: Explanation) -> dict[str, Any]:
    """The saliency maps of one mark: a PNG to lay over its 28x28 (or, through its frame,
    over the drawing) and the numbers, rounded."""
    return {
        "target": explanation.target,
        **{name: {"png": heatmap_data_url(values),
                  "values": np.round(values.astype(np.float64), 4).tolist()}
           for name, values in (("integrated_gradients", explanation.integrated_gradients),
                                ("occlusion", explanation.occlusion))},
    }


def guess(mark: DigitRead) -> dict[str, Any]:
    return {"digit": mark.prediction.digit, "confidence": round(mark.prediction.confidence, 6)}


def predict_answer(reading: Reading) -> dict[str, Any]:
    """The body of a 200 answer (without ``model``, ``time_ms`` and ``feature_maps``)."""
    marks = [mark_answer(mark) for mark in reading.marks]
    body: dict[str, Any] = {
        "status": reading.status,
        "message": message(reading),
        "number": reading.number,
        "digits": marks,
        "digit": None, "confidence": None, "probabilities": None,
        "not_digit_probability": None, "input_image": png_data_url(BLANK_IMAGE),
    }
    single = single_mark(reading)
    if single is not None:
        answer = marks[reading.marks.index(single)]
        for key in ("digit", "confidence", "probabilities", "not_digit_probability",
                    "input_image"):
            body[key] = answer[key]
        if "guess" in answer:
            body["guess"] = answer["guess"]
    elif len(marks) > 1:
        body["input_image"] = None
    return body


def single_mark(reading: Reading) -> DigitRead | None:
    """The mark the top-level fields describe: the one digit read, or the one mark when
    there is a single mark and it is not a digit; None otherwise."""
    if len(reading.digits) == 1:
        return reading.digits[0]
    if not reading.digits and len(reading.marks) == 1:
        return reading.marks[0]
    return None


def message(reading: Reading) -> str:
    if reading.blank_reason is not None:
        return reading.blank_reason
    digits, marks = reading.digits, reading.marks
    others = len(marks) - len(digits)
    if not digits:
        if len(marks) == 1:
            best = marks[0].prediction
            return (f"That doesn't look like a digit (the best guess, a {best.digit}, is "
                    f"{best.confidence:.0%} likely).")
        return f"None of the {len(marks)} marks looks like a digit."
    if len(digits) == 1:
        text = (f"The network reads this as a {digits[0].prediction.digit} "
                f"({digits[0].prediction.confidence:.1%} confident).")
    else:
        text = f"The network reads the number {reading.number} ({len(digits)} digits)."
    if others:
        text += f" {others} mark{'s' if others > 1 else ''} {'are' if others > 1 else 'is'} " \
                "not a digit."
    return text
