"""Built-in procedural sprites: dSprites' factor grid, rendered on demand, no file needed.

Factors (default grid, the same as disentanglement_lib's ``dsprites_full``):

====  ===========  =======  ==============================================
 idx  name          values   meaning
====  ===========  =======  ==============================================
  0   shape           3      square, ellipse, heart
  1   scale           6      ``linspace(0.5, 1, 6)``, relative size
  2   orientation    40      ``2*pi*k/40`` radians, counter-clockwise on screen
  3   position_x     32      ``linspace(0, 1, 32)``, left to right
  4   position_y     32      ``linspace(0, 1, 32)``, top to bottom
====  ===========  =======  ==============================================

Observations are binary sprites (1.0) on black (0.0), ``float32`` of shape
``(image_size, image_size, 1)``. A scale-1 square has a side of ``max_size * image_size``
pixels (19.2 px at 64x64); sprite centres move over the middle half of the image in whole
pixels for the default grid (centre ``image_size/4 + position * (image_size/2 - 1)``), so
a one-step change of x or y moves the sprite by one pixel. Other grid sizes put centres
at sub-pixel positions, quantised to ``1/SUBPIXEL_STEPS`` of a pixel.

Rendering is deterministic and vectorised: each distinct (shape, scale, orientation,
sub-pixel phase) is rasterised once into a small template (pixel centre inside the shape)
and cached; a batch is pasted into a zeroed canvas with one fancy-indexing assignment.
The default grid needs 720 templates of 29x29 bytes; the 737,280 images are never held
in memory.
"""

from __future__ import annotations

import math
from typing import Sequence

import gin
import numpy as np

from rpu_tf.data.factor_grid import FactorGridData

SHAPES = ("square", "ellipse", "heart")
FACTOR_NAMES = ("shape", "scale", "orientation", "position_x", "position_y")
#: Sub-pixel quantisation of sprite centres for grids whose centres fall between pixels.
SUBPIXEL_STEPS = 16
#: Minor/major axis ratio of the ellipse.
ELLIPSE_ASPECT = 0.55


def _inside(shape: str, u: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Whether points ``(u, w)`` (units of the half side, y pointing up) lie in ``shape``."""
    if shape == "square":
        return np.maximum(np.abs(u), np.abs(w)) <= 1.0
    if shape == "ellipse":
        return u * u + (w / ELLIPSE_ASPECT) ** 2 <= 1.0
    if shape == "heart":
        # Classic implicit heart (x^2 + y^2 - 1)^3 - x^2 y^3 <= 0, spanning about
        # x in [-1.14, 1.14], y in [-1, 1.25]; scaled and shifted to be centred.
        x = u * 1.1
        y = w * 1.1 + 0.15
        r = x * x + y * y - 1.0
        return r * r * r - x * x * y * y * y <= 0.0
    raise ValueError(f"unknown sprite shape {shape!r}; known shapes: {', '.join(SHAPES)}")


#: Largest distance from the centre of any point of each shape, in units of the half side.
_BOUNDING_RADIUS = {"square": math.sqrt(2.0), "ellipse": 1.0, "heart": 1.2}


@gin.configurable("sprites")
class Sprites(FactorGridData):
    """Procedural re-rendering of dSprites' factor grid (see the module docstring).

    Args:
      shapes: sprite shapes, a non-empty subset of ``("square", "ellipse", "heart")`` in any
        order; factor 0 indexes this tuple.
      num_scales: values of the scale factor, evenly spaced over ``scale_range``.
      num_orientations: values of the orientation factor, ``2*pi*k/num_orientations``.
      num_positions_x, num_positions_y: values of the position factors over [0, 1].
      image_size: height and width of the square images in pixels (at least 16).
      scale_range: (smallest, largest) scale, relative to ``max_size``; in (0, 1].
      max_size: side of a scale-1 square as a fraction of ``image_size``.
      position_span: fraction of the image the sprite centres move over, centred (dSprites:
        the middle half, 0.5). A smaller span leaves room for larger sprites (``max_size``).
    """

    def __init__(
        self,
        shapes: Sequence[str] = SHAPES,
        num_scales: int = 6,
        num_orientations: int = 40,
        num_positions_x: int = 32,
        num_positions_y: int = 32,
        image_size: int = 64,
        scale_range: Sequence[float] = (0.5, 1.0),
        max_size: float = 0.3,
        position_span: float = 0.5,
    ):
        shapes = tuple(shapes)
        unknown = [s for s in shapes if s not in SHAPES]
        if not shapes or unknown or len(set(shapes)) != len(shapes):
            raise ValueError(
                f"sprites.shapes must be distinct names from {SHAPES}, got {shapes}."
            )
        counts = dict(num_scales=num_scales, num_orientations=num_orientations,
                      num_positions_x=num_positions_x, num_positions_y=num_positions_y)
        for key, value in counts.items():
            if int(value) != value or value < 1:
                raise ValueError(f"sprites.{key} must be a positive integer, got {value!r}.")
        if int(image_size) != image_size or image_size < 16:
            raise ValueError(f"sprites.image_size must be an integer >= 16, got {image_size!r}.")
        lo_scale, hi_scale = (float(v) for v in scale_range)
        if not 0.0 < lo_scale <= hi_scale <= 1.0:
            raise ValueError(f"sprites.scale_range must satisfy 0 < low <= high <= 1, got {scale_range}.")
        if not 0.0 < max_size <= 0.5:
            raise ValueError(f"sprites.max_size must be in (0, 0.5], got {max_size}.")
        if not 0.0 < position_span <= 1.0:
            raise ValueError(f"sprites.position_span must be in (0, 1], got {position_span}.")

        super().__init__([len(shapes), num_scales, num_orientations, num_positions_x, num_positions_y])
        self.shapes = shapes
        self.image_size = int(image_size)
        self.max_size = float(max_size)
        self.scales = np.linspace(lo_scale, hi_scale, num_scales) if num_scales > 1 else np.array([hi_scale])
        self.orientations = 2.0 * np.pi * np.arange(num_orientations) / num_orientations
        self.positions_x = np.linspace(0.0, 1.0, num_positions_x) if num_positions_x > 1 else np.array([0.5])
        self.positions_y = np.linspace(0.0, 1.0, num_positions_y) if num_positions_y > 1 else np.array([0.5])

        size = self.image_size
        self._centre_lo = size * (1.0 - position_span) / 2.0  # size / 4 for the middle half
        self._centre_span = size * position_span - 1.0
        # Template geometry: T x T pixels around floor(centre), enough for the largest shape.
        half_side = 0.5 * self.max_size * size * hi_scale
        radius = half_side * max(_BOUNDING_RADIUS[s] for s in shapes)
        self._half = int(math.ceil(radius + 1.0 / SUBPIXEL_STEPS))
        self._tsize = 2 * self._half + 1
        first = int(math.floor(self._centre_lo)) - self._half
        last = int(math.floor(self._centre_lo + self._centre_span)) - self._half + self._tsize
        if first < 0 or last > size:
            raise ValueError(
                f"sprites: a scale-1 sprite of max_size={max_size} does not fit a {size}x{size} image with "
                f"position_span={position_span}; lower sprites.max_size or sprites.position_span."
            )
        q = SUBPIXEL_STEPS
        self._num_codes = len(shapes) * num_scales * num_orientations * q * q
        self._empty_template_cache()
        offs = np.arange(self._tsize, dtype=np.float64) - self._half + 0.5
        self._pixel_offsets = offs  # pixel centres relative to floor(centre), in pixels

    def _empty_template_cache(self) -> None:
        """The rendered sprite templates, filled as codes are first drawn (one slot per
        shape, scale, orientation and subpixel offset)."""
        self._slot_of_code = np.full(self._num_codes, -1, dtype=np.int64)
        self._templates = np.zeros((0, self._tsize, self._tsize), dtype=np.uint8)

    # A pickled data set (a Ray actor's, a worker's) carries its settings, not its template
    # cache: the copy is small, and its cache is its own and writable (arrays that come back
    # from Ray's object store are read-only).
    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_slot_of_code", None)
        state.pop("_templates", None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._empty_template_cache()

    # --- GroundTruthData -------------------------------------------------------------
    @property
    def observation_shape(self) -> list[int]:
        return [self.image_size, self.image_size, 1]

    @property
    def name(self) -> str:
        return "sprites"

    factor_names = property(lambda self: list(FACTOR_NAMES), doc="Names of the latent factors, in order.")

    def factor_values(self, factors) -> np.ndarray:
        """Physical values of factor classes, ``float64 (n, 5)``.

        Columns: shape index, scale, orientation (radians), position x, position y.
        """
        f = np.asarray(factors, dtype=np.int64).reshape(-1, 5)
        return np.stack([
            f[:, 0].astype(np.float64), self.scales[f[:, 1]], self.orientations[f[:, 2]],
            self.positions_x[f[:, 3]], self.positions_y[f[:, 4]],
        ], axis=1)

    def centres(self, factors) -> np.ndarray:
        """Sprite centres in pixel coordinates ``(x, y)`` (pixel i spans [i, i+1)), ``(n, 2)``."""
        f = np.asarray(factors, dtype=np.int64).reshape(-1, 5)
        cx = self._centre_lo + self.positions_x[f[:, 3]] * self._centre_span
        cy = self._centre_lo + self.positions_y[f[:, 4]] * self._centre_span
        return np.stack([cx, cy], axis=1)

    # --- rendering ---------------------------------------------------------------------
    def _observations_from_all_factors(self, all_factors: np.ndarray, random_state) -> np.ndarray:
        return self.render(all_factors)

    def render(self, factors: np.ndarray) -> np.ndarray:
        """Renders factor rows ``(n, 5)`` (valid class indices) to ``float32 (n, S, S, 1)``."""
        f = np.asarray(factors, dtype=np.int64)
        n = f.shape[0]
        size = self.image_size
        out = np.zeros((n, size, size, 1), dtype=np.float32)
        if n == 0:
            return out
        centres = self.centres(f)
        base = np.floor(centres).astype(np.int64)
        q = SUBPIXEL_STEPS
        phase = np.minimum(np.rint((centres - base) * q).astype(np.int64), q - 1)
        _, ns, no, _, _ = self.grid.factor_sizes
        codes = (((f[:, 0] * ns + f[:, 1]) * no + f[:, 2]) * q + phase[:, 0]) * q + phase[:, 1]
        slots = self._slot_of_code[codes]
        if (slots < 0).any():
            self._add_templates(np.unique(codes[slots < 0]))
            slots = self._slot_of_code[codes]
        top_left = base - self._half  # (x0, y0)
        ar = np.arange(self._tsize)
        rows = (top_left[:, 1:2] + ar)[:, :, None]  # (n, T, 1)
        cols = (top_left[:, 0:1] + ar)[:, None, :]  # (n, 1, T)
        out[np.arange(n)[:, None, None], rows, cols, 0] = self._templates[slots]
        return out

    def _add_templates(self, codes: np.ndarray) -> None:
        q = SUBPIXEL_STEPS
        _, ns, no, _, _ = self.grid.factor_sizes
        qy = codes % q
        qx = (codes // q) % q
        orient = (codes // (q * q)) % no
        scale = (codes // (q * q * no)) % ns
        shape = codes // (q * q * no * ns)
        half_side = 0.5 * self.max_size * self.image_size * self.scales[scale]  # (m,)
        theta = self.orientations[orient]
        # Pixel-centre offsets from the sprite centre (x right, y down), (m, T) each.
        dx = self._pixel_offsets[None, :] - qx[:, None] / q
        dy = self._pixel_offsets[None, :] - qy[:, None] / q
        c = (np.cos(theta) / half_side)[:, None, None]
        s = (np.sin(theta) / half_side)[:, None, None]
        x_up = dx[:, None, :]
        y_up = -dy[:, :, None]
        # Rotate the sampling grid by -theta so the shape appears rotated by +theta.
        u = c * x_up + s * y_up
        w = -s * x_up + c * y_up
        new = np.zeros((codes.size, self._tsize, self._tsize), dtype=np.uint8)
        for k, name in enumerate(self.shapes):
            sel = shape == k
            if sel.any():
                new[sel] = _inside(name, u[sel], w[sel])
        start = self._templates.shape[0]
        self._templates = np.concatenate([self._templates, new], axis=0)
        self._slot_of_code[codes] = np.arange(start, start + codes.size)
