"""rPU-VAE from Python, without gin files: explicit arguments, a data set object, ``run()``.

::

    import rpu_tf.data
    from rpu_tf.pipelines import RPUVAE, Population

    data = rpu_tf.data.Sprites(image_size=32, num_orientations=10, num_positions_x=8, num_positions_y=8)
    rpu = RPUVAE("runs/notebook", data,
                 initial=Population(members=2, replicas=3, generation_images=32000, max_generations=5),
                 leaf=Population(members=2, replicas=3, generation_images=8000, max_generations=3),
                 final=Population(members=2, replicas=1, generation_images=32000, max_generations=3),
                 max_leaf_runs=2, max_meta_epochs=1)
    summary = rpu.run()          # the run directory and summary of ``rpu_train``; resumable

Every argument's default is the paper's (``gin_configs/rpu_vae/dsprites.gin``: populations of
56 members of 5 replicas, generations of max(10000, |d|) images, 3 leaf-runs), so a bare
``RPUVAE(run_dir, data).run()`` is the paper's method, a GPU cluster's job.
:meth:`RPUVAE.quickstart` gives the quickstart's settings (``gin_configs/quickstart.gin``).

The arguments become gin bindings on top of the shipped ``pbt/_shared_vae.gin``
(disentanglement_lib's architecture and Adam settings), under the scopes the configs use
(``metaepoch/initial/``, ``metaepoch/leaf/``, ``final/``): :meth:`RPUVAE.bindings` lists
them, and ``gin_bindings=`` adds any other binding a config could hold (gin is still
possible, e.g. ``["reduction.peak_height_std = 5."]``).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional, Sequence

from rpu_tf import registry
from rpu_tf.data.ground_truth_data import FiniteGroundTruthData
from rpu_tf.models import MODELS
from rpu_tf.pipelines.rpu_vae import rpu_vae_with_gin
from rpu_tf.rpu.stages import FINAL_WARM_STARTS
from rpu_tf.training.precision import CHOICES as PRECISION_CHOICES
from rpu_tf.utils.gin_files import resolve_gin_config
from rpu_tf.utils.progress import api_console

#: The shipped config the API's bindings go on top of: the paper's PBT (truncation 20%,
#: perturbation factors, convergence rule) and disentanglement_lib's VAE settings.
BASE_CONFIG = "pbt/_shared_vae.gin"


@dataclasses.dataclass(frozen=True)
class Population:
    """The PBT population of one kind of stage (defaults: the paper's PBT-U-VAE).

    Attributes:
      members: members after the first generation (``pbt.population_size``; paper 56).
      replicas: VAEs per member with the same hyperparameters (``pbt_vae.num_replicas``;
        paper 5 in the metaEpochs, UDR needs at least 2; 1 in the final PBT-S-VAE).
      generation_images: images each replica trains on per generation
        (``pbt_vae.generation_images``); None: the paper's max(10000, |d|).
      max_generations: generations at most (``pbt_stopping.max_generations``; the paper's
        code 500); a run also stops when its best score has converged.
      first_generation_factor: the first generation has this many times ``members`` and is
        cut to the best ``members`` (``pbt.initial_population_factor``; paper's code 2).
      learning_rates, betas, batch_sizes: the values the first generation draws from
        (``vae_hyperparameters.*``); None: the paper's initial distributions.
    """

    members: int = 56
    replicas: int = 5
    generation_images: Optional[int] = None
    max_generations: int = 500
    first_generation_factor: float = 2
    learning_rates: Optional[Sequence[float]] = None
    betas: Optional[Sequence[float]] = None
    batch_sizes: Optional[Sequence[int]] = None

    def __post_init__(self):
        if int(self.members) != self.members or self.members < 2:
            raise ValueError(f"Population.members must be an integer >= 2 (PBT copies between members), "
                             f"got {self.members!r}.")
        if int(self.replicas) != self.replicas or self.replicas < 1:
            raise ValueError(f"Population.replicas must be an integer >= 1, got {self.replicas!r}.")
        if self.generation_images is not None and self.generation_images < 1:
            raise ValueError(f"Population.generation_images must be >= 1 or None, got {self.generation_images!r}.")
        if self.max_generations < 1:
            raise ValueError(f"Population.max_generations must be >= 1, got {self.max_generations!r}.")

    def bindings(self, scope: str) -> list[str]:
        """This population's gin bindings under ``scope`` (e.g. ``"metaepoch/leaf/"``)."""
        values = [("pbt.population_size", int(self.members)), ("pbt_vae.num_replicas", int(self.replicas)),
                  ("pbt_stopping.max_generations", int(self.max_generations)),
                  ("pbt.initial_population_factor", float(self.first_generation_factor))]
        if self.generation_images is not None:
            values.append(("pbt_vae.generation_images", int(self.generation_images)))
        for name, choices, kind in (("learning_rates", self.learning_rates, float), ("betas", self.betas, float),
                                    ("batch_sizes", self.batch_sizes, int)):
            if choices is not None:
                values.append((f"vae_hyperparameters.{name}", [kind(v) for v in choices]))
        return [f"{scope}{name} = {gin_literal(value)}" for name, value in values]


def gin_literal(value: Any) -> str:
    """``value`` as gin parses it back: numbers, booleans, None, strings, lists of those."""
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(gin_literal(v) for v in value) + "]"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if value is None or isinstance(value, (bool, int, float)):
        return repr(value)
    raise TypeError(f"{value!r} ({type(value).__name__}) has no gin literal; give a number, string or list.")


class RPUVAE:
    """rPU-VAE (Algorithm 1, then PBT-S-VAE) on ``data`` in ``run_dir``, configured in Python.

    Args:
      run_dir: the run directory (``rpu_train``'s layout; created, or resumed).
      data: a finite data set (a ``FiniteGroundTruthData``: the built-in sprites,
        dSprites, 3dshapes, a ``ReducedData`` of one of them, or your own images).
      initial: the initial metaEpoch's PBT-U-VAE (on all of ``data``).
      leaf: the leaf-runs' metaEpochs' PBT-U-VAE (on the reduced sets); None: as ``initial``.
      final: the final PBT-S-VAE (single models scored by MIG against the surrogate labels).
      max_leaf_runs, max_meta_epochs, min_dataset_size, udr_threshold: ``rpu_vae.*`` (paper:
        3 leaf-runs; the others are the paper's code's values).
      active_kl_threshold: a latent is active, and a surrogate label, when its mean KL is above
        this (nats; paper 1.0).
      num_latent: latents per VAE (paper and disentanglement_lib: 10).
      model: the registered VAE whose first hyperparameter PBT tunes (paper: ``beta_tc_vae``).
      final_warm_start, final_supervision_weight: the final stage's deviations from the paper
        (``rpu_vae.*``; paper: ``"none"``, 0).
      precision: ``"auto"`` (bfloat16 where the hardware has it; the commands' default too),
        ``"float32"`` (the paper's), ... (``training.precision``).
      evaluate: compute the final model's MIG and DCI against ground truth (labelled data).
      seed: the run's base seed (``rpu_vae.seed``).
      gin_bindings: further bindings, applied last.
    """

    def __init__(self, run_dir: str, data: FiniteGroundTruthData, *, initial: Population = Population(),
                 leaf: Optional[Population] = None, final: Population = Population(replicas=1),
                 max_leaf_runs: int = 3, max_meta_epochs: int = 10, min_dataset_size: int = 10,
                 udr_threshold: float = 0.1, active_kl_threshold: float = 1.0, num_latent: int = 10,
                 model: str = "beta_tc_vae", final_warm_start: str = "none", final_supervision_weight: float = 0.0,
                 precision: str = "auto", evaluate: bool = True, seed: int = 0,
                 gin_bindings: Sequence[str] = ()):
        if not isinstance(data, FiniteGroundTruthData):
            raise TypeError(f"RPUVAE needs a FiniteGroundTruthData (a data set with an index to reduce), got "
                            f"{type(data).__name__}; use rpu_tf.data.Sprites, a loaded dSprites/3dshapes, or "
                            "rpu_tf.data.ReducedData.")
        if final_warm_start not in FINAL_WARM_STARTS:
            raise ValueError(f"final_warm_start must be one of {FINAL_WARM_STARTS}, got {final_warm_start!r}.")
        if precision not in PRECISION_CHOICES:
            raise ValueError(f"precision must be one of {PRECISION_CHOICES}, got {precision!r}.")
        if model not in MODELS:
            raise ValueError(f"model {model!r} is not a registered VAE; known: {', '.join(sorted(MODELS))}.")
        self.run_dir, self.data = run_dir, data
        self.initial, self.leaf, self.final = initial, leaf if leaf is not None else initial, final
        self.rpu_settings = dict(max_leaf_runs=int(max_leaf_runs), max_meta_epochs=int(max_meta_epochs),
                                 min_dataset_size=int(min_dataset_size), udr_threshold=float(udr_threshold),
                                 final_warm_start=final_warm_start,
                                 final_supervision_weight=float(final_supervision_weight),
                                 evaluate_final=bool(evaluate), seed=int(seed))
        self.active_kl_threshold, self.num_latent = float(active_kl_threshold), int(num_latent)
        self.model, self.precision = model, precision
        self.extra_bindings = [str(b) for b in gin_bindings]

    @classmethod
    def quickstart(cls, run_dir: str, data: Optional[FiniteGroundTruthData] = None, seed: int = 0,
                   **overrides) -> "RPUVAE":
        """The settings of ``gin_configs/quickstart.gin`` (its comments say why each deviates
        from the paper) on its sprites (or ``data``); ``overrides`` replace arguments."""
        if data is None:
            from rpu_tf.data.sprites import Sprites

            data = Sprites(image_size=32, num_orientations=10, num_positions_x=8, num_positions_y=8)
        metaepoch = dict(members=2, replicas=3, first_generation_factor=1, learning_rates=[5e-4],
                         betas=[4., 6., 8.], batch_sizes=[64])
        settings = dict(
            initial=Population(generation_images=32000, max_generations=5, **metaepoch),
            leaf=Population(generation_images=8000, max_generations=3, **metaepoch),
            final=Population(members=2, replicas=1, generation_images=32000, max_generations=3,
                             first_generation_factor=1, learning_rates=[1e-4], betas=[4., 6., 8.], batch_sizes=[64]),
            max_leaf_runs=2, max_meta_epochs=1, active_kl_threshold=1.5, final_warm_start="initial",
            precision="auto", seed=seed,
            gin_bindings=["surrogate_mig_score.num_train = 2000"])
        settings.update(overrides)
        return cls(run_dir, data, **settings)

    def bindings(self) -> list[str]:
        """The gin bindings these arguments stand for (on top of :data:`BASE_CONFIG`)."""
        out = ['pipeline.name = "rpu_vae"', f"pbt_vae.model = @{self.model}()",
               f"encoder.num_latent = {self.num_latent}", f"training.precision = {gin_literal(self.precision)}",
               f"active_latents.active_kl_threshold = {gin_literal(self.active_kl_threshold)}"]
        out += self.initial.bindings("metaepoch/initial/") + self.leaf.bindings("metaepoch/leaf/")
        out += self.final.bindings("final/")
        out += [f"rpu_vae.{name} = {gin_literal(value)}" for name, value in self.rpu_settings.items()]
        return out + self.extra_bindings

    def run(self, overwrite: bool = False, redo_from: Optional[str] = None) -> dict:
        """Runs, or resumes, the whole method; returns ``summary.json``'s content.

        ``overwrite`` starts over; ``redo_from`` recomputes from a stage on, as ``rpu_train
        --redo_from`` does (e.g. after changing ``leaf`` or ``final``)."""
        registry.register_gin_configurables()
        with api_console():  # progress and stages on stderr unless the program configured logging
            return rpu_vae_with_gin(self.run_dir, overwrite, [resolve_gin_config(BASE_CONFIG)], self.bindings(),
                                    redo_from, data=self.data)
