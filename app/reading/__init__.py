"""Reading digits in images, without the web: decode -> ink -> digits -> 28x28 -> network.

- :mod:`app.reading.decode`: untrusted bytes -> gray and alpha arrays, bounded in cost;
- :mod:`app.reading.ink`: where the ink is, whatever the framing, lighting and polarity;
- :mod:`app.reading.components`, :mod:`app.reading.morphology`: the NumPy image operations;
- :mod:`app.reading.normalize`: one digit's ink -> MNIST's 28x28 framing;
- :mod:`app.reading.prepare`: a decoded image -> its digits' 28x28 images and boxes;
- :mod:`app.reading.errors`: :class:`ImageError`, the one error the pipeline raises.

Nothing here imports Flask: the web layer (:mod:`app.routes`), the benchmarks and a command
line all call the same functions.
"""
