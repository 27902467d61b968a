"""Reading digits in images, without the web: decode -> ink -> digits -> 28x28 -> network.

- :mod:`app.reading.decode`: untrusted bytes -> gray and alpha arrays, bounded in cost;
- :mod:`app.reading.ink`: where the ink is, whatever the framing, lighting and polarity
  (:mod:`app.reading.lines` removes ruled lines);
- :mod:`app.reading.segment`: the ink split into digits, line by line, the network choosing
  between ways of cutting and joining;
- :mod:`app.reading.normalize`: one digit's ink -> MNIST's 28x28 framing;
- :mod:`app.reading.reader`: all of it, and the network's reading of each mark;
- :mod:`app.reading.prepare`: the ink worth reading, and all of it framed as one digit;
- :mod:`app.reading.components`, :mod:`app.reading.morphology`: the NumPy image operations;
- :mod:`app.reading.errors`: :class:`ImageError`, the one error the pipeline raises.

Nothing here imports Flask: the web layer (:mod:`app.routes`), the benchmarks and the
command line (``python -m app.reading IMAGE...``) all call the same functions.
"""
