"""Finding the ink in a decoded image, whatever its framing, lighting and polarity.

The result is an ink map (how much ink each pixel holds, 0 = paper, 1 = the ink's own
level) and the connected marks it is made of. The steps:

1. **Orientation.** A transparent canvas holds its ink in the opacity (whatever the colour),
   unless its opaque part itself has contrast (a white card with a black digit inside a
   transparent margin): then the card is composited over its own colour and read like any
   picture. An opaque image is read relative to its background level; the ink is whichever
   side of it (darker or lighter) holds the far tail of the pixel values, so dark ink on
   grey paper and white chalk on a dark board both work.
2. **Background.** A *clean* image (most of its border sits at one level: a canvas, a scan,
   a crop, MNIST) has a flat background: everything that differs from it is ink, even where
   the ink touches the edge. A *photo* (noisy or shaded border) has its background estimated
   locally by a grey opening wider than any pen stroke, which follows shading and keeps a
   dark desk or shadow as background, and the threshold sits well above the sensor noise.
3. **Marks.** Pixels above the noise floor, less ruled lines (:mod:`app.reading.lines`),
   form 8-connected marks (hysteresis: a mark must
   hold at least one clearly inked pixel, at CORE of the ink level). In a photo, marks that
   lie along the image's edge (a desk, the paper's edge) or cover much of it are not ink.
   Specks much smaller than the main marks are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from app.reading.components import Components, bounding_box, label
from app.reading.lines import ruled_lines
from app.reading.morphology import opening

#: Width of the border band that tells the background, as a fraction of the shorter side.
BORDER_FRACTION = 0.04
#: A border pixel within this of the border's most common level counts as flat; when at
#: least CLEAN_SHARE of the border is flat the image is clean. So is an image of which at
#: least SPIKE_SHARE of all pixels sit within SPIKE_TOLERANCE of one level (a tight crop,
#: whose ink covers much of the border, still has a perfectly flat background). Otherwise
#: the background varies (noise, shading): a photo.
FLAT_TOLERANCE = 0.03
CLEAN_SHARE = 0.6
SPIKE_TOLERANCE = 0.01
SPIKE_SHARE = 0.3
#: Images no larger than this (a side, in pixels) may be tight crops with solid ink: when
#: two levels hold at least TWO_LEVELS[0] of the pixels each and TWO_LEVELS[1] together.
SMALL_SIDE = 256
TWO_LEVELS = (0.05, 0.2)
#: Images narrower than this are never photos.
PHOTO_MIN_SIDE = 64
#: Below this difference between ink and background the image counts as blank.
MIN_CONTRAST = 0.2
#: A pixel is clearly inked at this fraction of the ink's own level (about where the edge
#: of a pen stroke is). Measured on MNIST's training digits, their bounding box at this
#: threshold is the same 20 px as at the faintest trace; on a blurry upscaled scan it is the
#: digit's true extent, not its halo.
CORE = 0.45
#: Fewer clearly inked pixels than this: nearly blank.
MIN_INK_PIXELS = 4
#: A photo whose median level is below this shows a dark surface (a blackboard): its ink
#: may be light. Lighter photos are read as dark ink on light paper.
DARK_PAPER = 0.4
#: In a photo, the background window as a fraction of the shorter side (wider than a pen).
PHOTO_WINDOW = 0.2
#: In a photo, a mark touching this fraction of one side of the image is a desk, a shadow or
#: the paper's edge; so is a mark covering more than FRAME_AREA of the image.
FRAME_SIDE = 0.4
FRAME_AREA = 0.3
#: In a photo, a pixel whose local background is darker than the paper's usual level by
#: more than this lies on the desk (or in a deep shadow), not on the paper.
OFF_PAPER = 0.25
#: A mark whose extent is below this fraction of the largest mark's is a speck.
SPECK = 0.15


@dataclass
class Ink:
    """The ink of an image at its decoded resolution.

    ink (H, W) float32 in [0, 1]: 0 on paper, 1 at the ink's level (zero outside kept marks);
    strong (H, W) bool: clearly inked pixels of kept marks; marks: the connected marks of
    the image (labels over the whole image); kept: indices (0-based) of the marks that are
    ink; polarity: "transparent", "dark-on-light" or "light-on-dark"; photo: whether the
    background was estimated locally; blank_reason: None, or why no ink was found.
    """

    ink: np.ndarray
    strong: np.ndarray
    marks: Components
    kept: np.ndarray
    polarity: str
    photo: bool
    blank_reason: str | None = None


def border(values: np.ndarray) -> np.ndarray:
    """The pixels of a band around the edge of values (H, W), as a flat array."""
    height, width = values.shape
    band = max(1, round(BORDER_FRACTION * min(height, width)))
    if 2 * band >= min(height, width):
        return values.ravel()
    return np.concatenate([
        values[:band].ravel(), values[-band:].ravel(),
        values[band:-band, :band].ravel(), values[band:-band, -band:].ravel(),
    ])


def quantiles(values: np.ndarray, *qs: float) -> list[float]:
    """The qs-quantiles (nearest rank) of a non-empty flat array, by one partial sort."""
    ranks = [min(values.size - 1, round(q * (values.size - 1))) for q in qs]
    ordered = np.partition(values, sorted(set(ranks)))
    return [float(ordered[k]) for k in ranks]


def find_ink(gray: np.ndarray, alpha: np.ndarray | None = None) -> Ink:
    """gray (H, W) float in [0, 1], alpha (H, W) or None -> :class:`Ink`."""
    if is_canvas(gray, alpha):
        return _marks(clean_signal(alpha), "transparent")
    gray = opaque(gray, alpha)
    level, photo = background_level(gray)
    if photo:
        signal, polarity = photo_signal(gray)
    else:
        signal, polarity = clean_signal_of(gray, level)
    return _marks(signal, polarity)


@dataclass
class Signal:
    """How far each pixel stands out as ink: raw (H, W) float32, above ``floor`` it is more
    than noise; ``paper`` (H, W) is a photo's local background (None for a clean image)."""

    raw: np.ndarray
    floor: float
    paper: np.ndarray | None = None


def is_canvas(gray: np.ndarray, alpha: np.ndarray | None) -> bool:
    """A drawing on a transparent canvas: its ink is the opacity, whatever the colour. Not
    when the opaque part itself has contrast (a card holding a digit): that is a picture."""
    if alpha is None or quantiles(border(alpha), 0.5)[0] >= 0.5:
        return False
    covered = gray[alpha > 0.5]
    if covered.size:
        low, high = quantiles(covered, 0.01, 0.99)
        return high - low <= MIN_CONTRAST
    return True


def opaque(gray: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """gray (H, W) with any transparency composited over the paper's colour (the median of
    the opaque pixels), as a viewer showing the picture on that paper would."""
    if alpha is None:
        return gray
    covered = alpha > 0.5
    paper = np.float32(np.median(gray[covered]) if covered.any() else 1.0)
    return gray * alpha + paper * (np.float32(1) - alpha)


def clean_signal_of(gray: np.ndarray, level: float) -> tuple[Signal, str]:
    """The signal of a clean image whose paper sits at ``level``, and its polarity: the ink
    is on the side of the level (darker or lighter) that more pixels clearly stand out on."""
    away = 0.5 * MIN_CONTRAST
    darker = np.count_nonzero(gray < level - away)
    lighter = np.count_nonzero(gray > level + away)
    if darker >= lighter:
        return clean_signal(np.float32(level) - gray), "dark-on-light"
    return clean_signal(gray - np.float32(level)), "light-on-dark"


def background_level(gray: np.ndarray) -> tuple[float, bool]:
    """The paper's level in gray (H, W), and whether it varies (a photo) or is flat.

    Flat when most of the border sits at one level, or when many pixels of the whole image
    do (a tight crop, whose ink covers much of its border), or when the image is too small
    to be a photo. When a small image has two such common levels (a tight crop of a scan
    whose solid ink fills as much of it as the paper does), the paper is the one nearer the
    image's corners, which strokes seldom reach; in a large image (a photo) a second flat
    level is more likely a dark desk than ink."""
    level, flat_share = common_level(border(gray), FLAT_TOLERANCE)
    if flat_share >= CLEAN_SHARE:
        return level, False
    (first, first_share), (second, second_share) = two_common_levels(gray.ravel())
    if max(gray.shape) <= SMALL_SIDE and second_share >= TWO_LEVELS[0] and (
        first_share + second_share >= TWO_LEVELS[1]
    ):
        corners = float(np.mean(gray[[0, 0, -1, -1], [0, -1, 0, -1]]))
        return (first if abs(first - corners) <= abs(second - corners) else second), False
    if first_share >= SPIKE_SHARE or min(gray.shape) < PHOTO_MIN_SIDE:
        return first, False
    return float(np.median(gray)), True


def two_common_levels(values: np.ndarray) -> list[tuple[float, float]]:
    """The two most common levels of values (flat, in [0, 1]), at least MIN_CONTRAST apart,
    each with the share of values within SPIKE_TOLERANCE of it."""
    found = []
    for _ in range(2):
        level, share = common_level(values, SPIKE_TOLERANCE)
        found.append((level, share))
        values = values[np.abs(values - level) >= MIN_CONTRAST]
        if values.size == 0:
            found.append((level, 0.0))
            break
    return found[:2]


def common_level(values: np.ndarray, tolerance: float) -> tuple[float, float]:
    """The most common level of values (flat, in [0, 1]) and the share of them within
    ``tolerance`` of it: the histogram's peak (bins of 2 * tolerance), refined to the mean
    of the values near it."""
    bins = max(8, round(0.5 / tolerance))
    counts = np.bincount(np.clip((values * values.dtype.type(bins)).astype(np.intp), 0, bins - 1),
                         minlength=bins)  # np.histogram's counts, without its overhead
    edges = np.linspace(0.0, 1.0, bins + 1).astype(values.dtype)
    peak = int(np.argmax(counts))
    near = (values >= edges[max(0, peak - 1)]) & (values <= edges[min(bins, peak + 2)])
    level = float(values[near].mean())
    return level, float(np.count_nonzero(np.abs(values - level) <= tolerance) / values.size)


def clean_signal(values: np.ndarray) -> Signal:
    """The signal of an image with a flat background at 0: the values themselves.

    The floor sits above the border's own small deviations (JPEG or scanner noise), and is
    tiny for a perfectly flat background, so anti-aliased fringes count as ink."""
    deviation = np.abs(border(values))
    flat = deviation[deviation <= FLAT_TOLERANCE]
    noise = quantiles(flat, 0.95)[0] if flat.size else FLAT_TOLERANCE
    return Signal(values, max(3.0 * noise, 0.01))


def photo_signal(gray: np.ndarray) -> tuple[Signal, str]:
    """The signal of a photo, and its polarity: gray minus its local background.

    gray is lightly smoothed (3x3 mean) against sensor noise and oriented so that ink is
    high. The background is a grey opening with a window of PHOTO_WINDOW of the shorter
    side, which removes every pen stroke but follows shading and keeps large regions (a
    desk) as background; it is computed on a grid of blocks (each block's minimum is an
    exact first step of the erosion) and interpolated back, so its cost does not grow with
    the photo's size. The floor is the signal's median plus five robust standard
    deviations."""
    smooth = mean3x3(gray)
    window = PHOTO_WINDOW * min(gray.shape)
    block = max(1, int(window // 12))
    polarity = photo_polarity(smooth, max(8, int(window / 2)))
    values = -smooth if polarity == "dark-on-light" else smooth
    paper = upsampled(opening(block_minimum(values, block), int(window / block) | 1), gray.shape)
    raw = values - paper
    sample = raw[::3, ::3].ravel()
    middle = quantiles(sample, 0.5)[0]
    spread = 1.4826 * quantiles(np.abs(sample - middle), 0.5)[0]
    return Signal(raw, middle + max(5.0 * spread, 0.25 * MIN_CONTRAST), paper), polarity


def photo_polarity(smooth: np.ndarray, block: int) -> str:
    """Dark ink on light paper, as photos nearly always are, unless the paper is dark (a
    blackboard) and more pixels stand out lighter than darker (by half MIN_CONTRAST) from
    the median of their block (wider than a stroke, so the median is paper)."""
    if quantiles(smooth[::3, ::3].ravel(), 0.5)[0] >= DARK_PAPER:
        return "dark-on-light"
    height, width = smooth.shape
    rows, cols = height // block, width // block
    if rows == 0 or cols == 0:
        return "dark-on-light"
    tiles = smooth[: rows * block, : cols * block].reshape(rows, block, cols, block)
    local = np.median(tiles[:, ::2, :, ::2].transpose(0, 2, 1, 3).reshape(rows, cols, -1), -1)
    deviation = tiles - local[:, None, :, None]
    away = 0.5 * MIN_CONTRAST
    darker = np.count_nonzero(deviation < -away)
    return "dark-on-light" if darker >= np.count_nonzero(deviation > away) else "light-on-dark"


def block_minimum(values: np.ndarray, block: int) -> np.ndarray:
    """(H, W) -> (ceil(H / block), ceil(W / block)): each block's minimum (edges repeated)."""
    if block == 1:
        return values
    height, width = values.shape
    padded = np.pad(values, ((0, -height % block), (0, -width % block)), mode="edge")
    rows, cols = padded.shape[0] // block, padded.shape[1] // block
    return padded.reshape(rows, block, cols, block).min(axis=(1, 3))


def upsampled(values: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A block grid (h, w) stretched back over the (H, W) image it covers (bilinear)."""
    if values.shape == shape:
        return values
    height, width = shape
    block_h = -(-height // values.shape[0])
    block_w = -(-width // values.shape[1])
    grid = Image.fromarray(values.astype(np.float32))
    full = grid.resize((values.shape[1] * block_w, values.shape[0] * block_h),
                       Image.Resampling.BILINEAR)
    return np.asarray(full, np.float32)[:height, :width]


def mean3x3(values: np.ndarray) -> np.ndarray:
    """Mean over each pixel's 3x3 neighbourhood (edges repeated). (H, W) -> (H, W) float32."""
    padded = np.pad(values.astype(np.float32), 1, mode="edge")
    rows = padded[:-2] + padded[1:-1] + padded[2:]
    return (rows[:, :-2] + rows[:, 1:-1] + rows[:, 2:]) * np.float32(1 / 9)


def _marks(signal: Signal, polarity: str) -> Ink:
    """Threshold the signal into marks, keep the ones that are ink, scale the ink to [0, 1]."""
    raw, floor = signal.raw, signal.floor
    photo = signal.paper is not None
    weak = raw > floor
    empty = np.zeros(raw.shape, np.float32)
    if np.count_nonzero(weak) < MIN_INK_PIXELS:
        return _blank(empty, polarity, photo, "No digit found: the image is blank.")
    if photo:  # the desk, the paper's edge and shadows first, while they are whole marks
        marks = label(weak)
        scenery = frames(marks, raw.shape) | off_paper(marks, signal.paper)
        weak &= ~np.concatenate([[False], scenery])[marks.labels]
        if np.count_nonzero(weak) < MIN_INK_PIXELS:
            return _blank(empty, polarity, photo, "No digit found: the image is blank.")
    y0, y1, x0, x1 = bounding_box(weak)  # the rest looks at the ink's box only
    raw, weak = raw[y0:y1, x0:x1], weak[y0:y1, x0:x1]
    weak &= ~ruled_lines(weak, empty.shape)
    if np.count_nonzero(weak) < MIN_INK_PIXELS:
        return _blank(empty, polarity, photo, "No digit found: the image is blank.")
    level = quantiles(raw[weak], 0.95)[0]
    if level < MIN_CONTRAST:
        return _blank(empty, polarity, photo, "No digit found: the image is blank.")
    strong = weak & (raw >= floor + CORE * (level - floor))
    marks = label(weak)
    keep = np.bincount(marks.labels[strong], minlength=marks.count + 1)[1:] > 0
    keep &= marks.areas >= 2
    if keep.any():
        boxes = marks.boxes
        extents = np.maximum(boxes[:, 1] - boxes[:, 0], boxes[:, 3] - boxes[:, 2])
        keep &= extents >= SPECK * extents[keep].max()
    inside = np.concatenate([[False], keep])[marks.labels]  # (h, w): pixel in a kept mark
    strong &= inside
    if np.count_nonzero(strong) < MIN_INK_PIXELS:
        return _blank(empty, polarity, photo, "No digit found: the image is nearly blank.")
    ink, strong_full = empty, np.zeros(empty.shape, bool)
    window = ink[y0:y1, x0:x1]
    np.multiply(raw, np.float32(1.0 / level), out=window, where=inside)
    np.clip(window, 0.0, 1.0, out=window)
    strong_full[y0:y1, x0:x1] = strong
    return Ink(ink, strong_full, marks.placed(y0, x0, empty.shape), np.flatnonzero(keep),
               polarity, photo)


def off_paper(marks: Components, paper: np.ndarray) -> np.ndarray:
    """(count,) bool: marks lying on a background much darker than the paper's usual level
    (texture on a desk, the edge of a deep shadow), not on the paper people write on."""
    usual = quantiles(paper[::3, ::3].ravel(), 0.5)[0]
    under = np.bincount(marks.labels.ravel(), weights=paper.ravel(), minlength=marks.count + 1)
    return under[1:] / np.maximum(marks.areas, 1) - usual > OFF_PAPER


def frames(marks: Components, shape: tuple[int, int]) -> np.ndarray:
    """(count,) bool: marks that run along a side of the image or cover much of it."""
    height, width = shape
    labels = marks.labels
    sides = (labels[0], labels[-1], labels[:, 0], labels[:, -1])
    frame = marks.areas > FRAME_AREA * height * width
    for side in sides:
        touching = np.bincount(side, minlength=marks.count + 1)[1:]
        frame |= touching >= FRAME_SIDE * len(side)
    return frame


def _blank(empty: np.ndarray, polarity: str, photo: bool, reason: str) -> Ink:
    none = np.zeros(0, np.int64)
    marks = Components(np.zeros(empty.shape, np.int32), np.zeros((0, 4), np.int64), none)
    return Ink(empty, empty > 0, marks, none, polarity, photo, reason)
