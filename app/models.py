"""Every model the server offers: the default one (``DIGITS_PARAMS``) and every other
parameter file in the models folder (``params/`` unless ``DIGITS_MODELS_DIR`` says
otherwise), each loaded once per worker at start-up.

A request chooses one by name (``?model=seed``); without a name it gets the default. The
default must load (else the server does not start); another file that is refused or does
not load is left out with a warning, and so is one whose name an earlier model already has.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from app.errors import ApiError
from app.predictor import Predictor
from model.params_io import ParamsError

log = logging.getLogger(__name__)


class Models:
    """The loaded models by name, the default first."""

    def __init__(self, default: Predictor, others: list[Predictor] | None = None) -> None:
        self.default = default
        self._by_name = {default.name: default}
        for predictor in others or []:
            if predictor.name in self._by_name:
                log.warning("model %s is already loaded: %s left out", predictor.name,
                            predictor.loaded.path)
                continue
            self._by_name[predictor.name] = predictor

    @property
    def names(self) -> list[str]:
        return list(self._by_name)

    def __iter__(self):
        return iter(self._by_name.values())

    def get(self, name: str | None) -> Predictor:
        """The model called ``name`` (the default for None); ApiError 404 if there is none."""
        if name is None:
            return self.default
        try:
            return self._by_name[name]
        except KeyError:
            known = ", ".join(self.names)
            raise ApiError(404, "unknown_model",
                           f"There is no model called {name!r}; this server has: {known}.") \
                from None


def load_others(folder: str | os.PathLike | None, default: Predictor) -> list[Predictor]:
    """Every ``*.pkl`` in ``folder`` but the default's own file, in name order."""
    if not folder or not Path(folder).is_dir():
        return []
    own = Path(default.loaded.path).resolve() if default.loaded.path else None
    found = []
    for path in sorted(Path(folder).glob("*.pkl")):
        if own is not None and path.resolve() == own:
            continue
        try:
            found.append(Predictor.from_file(path))
        except ParamsError as exc:
            log.warning("model file %s left out: %s", path, exc)
    return found
