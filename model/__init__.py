"""A convolutional neural network written from scratch in NumPy.

Layers (:mod:`model.layers`) have a ``forward(x, training) -> (out, cache)`` and a
``backward(dout, cache) -> dx`` pass; :class:`model.network.Sequential` chains them;
:mod:`model.presets` names the architectures; :mod:`model.params_io` saves and safely loads
parameter files; :mod:`model.mnist` reads (and fetches) the MNIST IDX files.
"""

__all__ = ["__version__"]
__version__ = "2.0.0"
