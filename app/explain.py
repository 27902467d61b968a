"""Feature maps for "look inside" (``/predict?explain=1``), drawn so a learner can trust them.

Two things would mislead otherwise:

- Scale. Each layer's maps share one scale (0 = black up to the layer's strongest response
  = white), so a weak response looks weak next to a strong one. ``scale`` gives the range
  and ``peaks`` each map's strongest value, so the page can print values and a legend.
- Padding. A "same" convolution pads its input with zeros at the border, and zero is not
  what blank paper looks like inside the network (the input is normalised, so paper is
  about -0.42, and deeper layers see other values), so many maps light up along the frame
  where nothing is drawn. The maps are therefore computed on the 28x28 input surrounded
  by a margin of blank paper and cropped back to their usual size: inside the frame they
  are what the network computes; at the border they show what it would compute if the
  paper went on, which is what "nothing drawn there" means. (A "valid" network, like the
  seed one, gets exactly its own maps: it has no padding.)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from app.pngs import png_data_urls

#: Blank paper added on each side of the 28x28 input, in input pixels (rounded up to a
#: multiple of the layers' total stride, so every map crops back exactly).
MARGIN = 8


def feature_maps(network: Any, x: np.ndarray, background: float) -> list[dict[str, Any]]:
    """x (1, 28, 28) normalised input; background: what blank paper is after normalising.

    One entry per conv: its activation after the following ReLU (or the conv's own output).
    """
    sources = network.feature_map_sources()
    if not sources:
        return []
    last = max(shown for _, shown in sources)
    stride = _total_stride(network.layers[:last + 1])
    margin = stride * math.ceil(MARGIN / stride)
    padded = np.pad(x, ((0, 0), (margin, margin), (margin, margin)), constant_values=background)
    shapes = network.layer_shapes()  # (C, H, W) after each layer, for the 28x28 input
    real = {shown: shapes[shown + 1] for _, shown in sources}

    outputs, out, scale = {}, padded[None].astype(np.float32), 1
    for index, layer in enumerate(network.layers[:last + 1]):
        out, _ = layer.forward(out, False)
        scale *= _stride(layer)
        if index in real:
            offset = margin // scale
            height, width = real[index][1:]
            outputs[index] = np.asarray(out[0, :, offset:offset + height, offset:offset + width])
    return [_entry(network, conv, shown, outputs[shown]) for conv, shown in sources]


def _stride(layer: Any) -> int:
    spec = layer.spec()
    if spec["type"] in ("conv2d", "maxpool2d", "avgpool2d"):
        return int(spec.get("stride") or spec.get("kernel") or 1)
    return 1


def _total_stride(layers: list[Any]) -> int:
    return math.prod(_stride(layer) for layer in layers)


def _entry(network: Any, conv: int, shown: int, maps: np.ndarray) -> dict[str, Any]:
    spec = network.layers[conv].spec()
    channels, height, width = maps.shape
    low, high = float(maps.min()), float(maps.max())
    span = high - low
    scaled = (maps - low) / span if span > 1e-12 else np.zeros_like(maps)
    after = f"after the ReLU at layer {shown}" if shown != conv else "output (no ReLU follows)"
    return {
        "layer": f"{conv}:{spec['type']}",
        "index": conv,
        "description": (f"conv {spec['kernel']}x{spec['kernel']}, {spec['filters']} filters, "
                        f"stride {spec['stride']}, padding {spec['padding']}; {after}"),
        "channels": int(channels),
        "height": int(height),
        "width": int(width),
        "scale": {"min": round(low, 5), "max": round(high, 5)},
        "peaks": [round(float(m.max()), 5) for m in maps],
        "maps": png_data_urls(scaled),
    }
