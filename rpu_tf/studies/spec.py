"""A study as data: methods x seeds at one budget of training images (gin: ``study``,
``study_method``; see ``gin_configs/studies/``).

A :class:`Method` is a way to get one model per seed:

- ``kind="train"``: an ordinary ``rpu_train`` run per seed (gin files and bindings, the seed
  through ``seed_binding``, the study's budget through ``budget_binding``);
- ``kind="rpu_vae"``: rPU-VAE runs, one per leaf-run count in ``leaf_runs``; the run with
  the most leaf-runs trains every stage, the others reuse its initial metaEpoch and first
  leaf-runs (what a fresh run with that many leaf-runs would train first, with the same
  seeds) and train their own final stage; each counts the images of its own stages. With
  ``stages_from`` naming another ``rpu_vae`` method, every variant reuses that method's
  stages instead and trains only its own final stage (e.g. the paper's final stage from
  scratch beside the warm-started one, on the same metaEpochs);
- ``kind="udr_selection"``: no training: per seed, the model of the ``select_from`` methods
  with the best UDR against the same method's models of the other seeds
  (disentanglement_lib's UDR study); it costs the images of all its candidates.

``group`` pools methods into one box of Fig. 4 and one table row (the β sweep's six β
values are one "β-TCVAE"); by default a method is its own group. ``train_group`` trains
``train`` methods together: per seed, the runs of all methods with the same ``train_group``
are one replica group in one process (``rpu_train_together``; the β sweep: 1.9x the images/s
of separate runs on 2 CPU cores); they must share configs and budget and differ only in model
hyperparameters (their ``bindings``).
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Optional, Sequence

import gin

KINDS = ("train", "rpu_vae", "udr_selection")
EXECUTORS = ("local", "ray")
#: The representations a study can score (disentanglement_lib's postprocessings,
#: ``unsupervised_study_v1/postprocess_configs/{mean,sampled}.gin``).
REPRESENTATIONS = ("mean", "sampled")


def slug(name: str) -> str:
    """A folder name for a method name: ``"β-TCVAE β=1"`` -> ``"tcvae_1"``-like, ASCII only."""
    text = name.replace("β", "beta")
    text = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()
    if not text:
        raise ValueError(f"Method name {name!r} has no letters or digits to name its folder.")
    return text


@dataclasses.dataclass(frozen=True)
class Method:
    """One method of a study (see the module docstring).

    Attributes:
      name: label in figures and tables (unique in the study).
      kind: one of :data:`KINDS`.
      configs: gin files of ``rpu_train``, relative to the study's gin file or absolute.
      bindings: extra gin bindings.
      seed_binding: a binding with ``{seed}``, e.g. ``"model.random_seed = {seed}"``.
      budget_binding: a binding with ``{units}`` that gives the run the study's budget, e.g.
        ``"model.training_steps = {units}"``; None: the run's own settings fix its images.
      budget_unit_images: training images per unit of ``budget_binding`` (batch size for
        steps; members x replicas x generation images for PBT generations); units are
        rounded up, so a baseline never gets less than the budget.
      leaf_runs: ``rpu_vae``: the leaf-run counts (e.g. ``(0, 1, 2, 3)``); the largest is
        this method's own entry in Fig. 4.
      stages_from: ``rpu_vae``: the name of another ``rpu_vae`` method of the study (with at
        least as many leaf-runs, and no ``stages_from`` of its own) whose initial metaEpoch
        and leaf-runs this method's runs reuse, seed by seed; its bindings must leave those
        stages as they are (differ only in the final stage). None: it trains its own.
      select_from: ``udr_selection``: names of the ``train`` methods to choose from.
      group: the Fig. 4 box / table row this method's models join (default: its name).
      train_group: ``train`` methods with the same non-empty value train together, per seed.
      cpus: CPUs a run of this method holds as a Ray task (``study.executor = "ray"``); its
        training sizes its thread pools for them. A train group holds the most of its methods'.
      gpus: the GPU fraction it holds there; None: 0.25 on a cluster with GPUs (four small
        VAEs share a device), else 0. rPU-VAE and PBT runs hold only their driver's share;
        their members take their own actors (``ray_executor.*``).
    """

    name: str
    kind: str = "train"
    configs: tuple[str, ...] = ()
    bindings: tuple[str, ...] = ()
    seed_binding: Optional[str] = None
    budget_binding: Optional[str] = None
    budget_unit_images: int = 1
    leaf_runs: tuple[int, ...] = ()
    stages_from: Optional[str] = None
    select_from: tuple[str, ...] = ()
    group: Optional[str] = None
    train_group: Optional[str] = None
    cpus: float = 1.0
    gpus: Optional[float] = None

    def __post_init__(self):
        if not float(self.cpus) > 0 or (self.gpus is not None and not float(self.gpus) >= 0):
            raise ValueError(f"study_method {self.name!r}: cpus must be > 0 and gpus >= 0 or None, "
                             f"got cpus={self.cpus}, gpus={self.gpus}.")
        if self.kind not in KINDS:
            raise ValueError(f"study_method {self.name!r}: kind must be one of {KINDS}, got {self.kind!r}.")
        if self.kind in ("train", "rpu_vae"):
            if not self.configs:
                raise ValueError(f"study_method {self.name!r}: give the gin configs of its runs (configs).")
            if not self.seed_binding or "{seed}" not in self.seed_binding:
                raise ValueError(f"study_method {self.name!r}: seed_binding must contain '{{seed}}', e.g. "
                                 "'model.random_seed = {seed}'.")
        if self.budget_binding is not None and "{units}" not in self.budget_binding:
            raise ValueError(f"study_method {self.name!r}: budget_binding must contain '{{units}}'.")
        if int(self.budget_unit_images) < 1:
            raise ValueError(f"study_method {self.name!r}: budget_unit_images must be >= 1.")
        if self.kind == "rpu_vae" and (not self.leaf_runs or min(self.leaf_runs) < 0):
            raise ValueError(f"study_method {self.name!r}: leaf_runs must be non-negative counts, e.g. (0, 1, 2, 3).")
        if self.stages_from is not None and (self.kind != "rpu_vae" or self.stages_from == self.name):
            raise ValueError(f"study_method {self.name!r}: stages_from names the rpu_vae method whose stages an "
                             f"rpu_vae method reuses (another one), got {self.stages_from!r}.")
        if self.train_group and self.kind != "train":
            raise ValueError(f"study_method {self.name!r}: only 'train' methods can share a train_group.")
        if self.kind == "udr_selection" and not self.select_from:
            raise ValueError(f"study_method {self.name!r}: select_from must name the methods to select among.")

    @property
    def label(self) -> str:
        """The Fig. 4 box and table row of this method."""
        return self.group or self.name

    def budget_units(self, budget_images: int) -> int:
        """Units of ``budget_binding`` that cover ``budget_images`` (rounded up)."""
        return max(1, math.ceil(int(budget_images) / int(self.budget_unit_images)))


def leaf_run_name(method: Method, leaf_runs: int) -> str:
    """The name of an rPU-VAE method's variant with ``leaf_runs`` leaf-runs."""
    return f"{method.name} ({leaf_runs} leaf-run{'s' if leaf_runs != 1 else ''})"


@dataclasses.dataclass(frozen=True)
class Study:
    """Methods x seeds (see :func:`study_spec`)."""

    name: str
    seeds: tuple[int, ...]
    methods: tuple[Method, ...]
    metrics: tuple[str, ...]
    budget_images: Optional[int] = None
    base_dir: str = "."
    common_bindings: tuple[str, ...] = ()
    precision: str = "auto"
    dataset: Optional[str] = None
    executor: str = "local"
    ray_address: Optional[str] = None
    representations: tuple[str, ...] = ("mean",)

    def __post_init__(self):
        if self.executor not in EXECUTORS:
            raise ValueError(f"study {self.name!r}: executor must be one of {EXECUTORS}, got {self.executor!r}.")
        if (not self.representations or "mean" not in self.representations
                or any(r not in REPRESENTATIONS for r in self.representations)
                or len(set(self.representations)) != len(self.representations)):
            raise ValueError(f"study {self.name!r}: representations must be distinct names from {REPRESENTATIONS} "
                             f"and include 'mean' (Fig. 4 and the tables score it), got {list(self.representations)}.")
        names = [m.name for m in self.methods]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"study {self.name!r}: method names must be unique; repeated: {duplicates}.")
        slugs = [slug(n) for n in names]
        if len(set(slugs)) != len(slugs):
            raise ValueError(f"study {self.name!r}: method names {names} map to the same folder names {slugs}.")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"study {self.name!r}: seeds must be distinct, got {list(self.seeds)}.")
        kinds = {m.name: m.kind for m in self.methods}
        if any(m.kind == "udr_selection" for m in self.methods) and len(self.seeds) < 2:
            raise ValueError(f"study {self.name!r}: UDR selection compares a method's models of different seeds; "
                             "give at least 2 seeds.")
        for m in self.methods:
            for source in m.select_from:
                if kinds.get(source) != "train":
                    raise ValueError(f"study_method {m.name!r}: select_from names {source!r}, which is not a "
                                     f"'train' method of the study (known: {sorted(kinds)}).")
        for m in (m for m in self.methods if m.stages_from is not None):
            donor = next((d for d in self.methods if d.name == m.stages_from), None)
            if (donor is None or donor.kind != "rpu_vae" or donor.stages_from is not None
                    or max(donor.leaf_runs) < max(m.leaf_runs)):
                raise ValueError(f"study_method {m.name!r}: stages_from={m.stages_from!r} must name an rpu_vae "
                                 "method of the study that trains its own stages, with at least as many leaf-runs "
                                 f"(known: {sorted(kinds)}).")
        for group in {m.train_group for m in self.methods if m.train_group}:
            members = [m for m in self.methods if m.train_group == group]
            shared = {(m.configs, m.seed_binding, m.budget_binding, m.budget_unit_images) for m in members}
            if len(shared) > 1:
                raise ValueError(f"study {self.name!r}: the methods of train_group {group!r} "
                                 f"({[m.name for m in members]}) must share configs, seed_binding, budget_binding "
                                 "and budget_unit_images; they may differ only in their bindings.")
        if self.budget_images is None and not any(m.kind == "rpu_vae" for m in self.methods):
            raise ValueError(f"study {self.name!r}: without an rpu_vae method the budget must be given "
                             "(study.budget_images).")

    @property
    def budget_method(self) -> Optional[Method]:
        """The rPU-VAE method whose largest variant's images set the budget (when not given)."""
        return next((m for m in self.methods if m.kind == "rpu_vae"), None)

    def stage_donor(self, method: Method) -> Method:
        """The method whose runs train the stages ``method``'s runs use (itself, or its
        ``stages_from``)."""
        return next(m for m in self.methods if m.name == method.stages_from) if method.stages_from else method


@gin.configurable("study_method")
def study_method(name: str = gin.REQUIRED, kind: str = "train", configs: Sequence[str] = (),
                 bindings: Sequence[str] = (), seed_binding: Optional[str] = None,
                 budget_binding: Optional[str] = None, budget_unit_images: int = 1,
                 leaf_runs: Sequence[int] = (), select_from: Sequence[str] = (),
                 group: Optional[str] = None, train_group: Optional[str] = None, cpus: float = 1.0,
                 gpus: Optional[float] = None, stages_from: Optional[str] = None) -> Method:
    """A :class:`Method` from gin (use one scope per method: ``btc_b1/study_method.name``)."""
    return Method(name=str(name), kind=str(kind), configs=tuple(configs), bindings=tuple(bindings),
                  seed_binding=seed_binding, budget_binding=budget_binding,
                  budget_unit_images=int(budget_unit_images), leaf_runs=tuple(int(v) for v in leaf_runs),
                  select_from=tuple(select_from), group=group, train_group=train_group or None,
                  cpus=float(cpus), gpus=None if gpus is None else float(gpus),
                  stages_from=None if stages_from is None else str(stages_from))


@gin.configurable("study")
def study_spec(name: str = gin.REQUIRED, seeds: Sequence[int] = (0, 1, 2), methods: Sequence[Method] = gin.REQUIRED,
               metrics: Sequence[str] = ("../metrics/mig.gin", "../metrics/dci.gin"),
               budget_images: Optional[int] = None, base_dir: str = ".",
               common_bindings: Sequence[str] = (), precision: str = "auto",
               dataset: Optional[str] = None, executor: str = "local", ray_address: Optional[str] = None,
               representations: Sequence[str] = ("mean",)) -> Study:
    """The study of a gin file.

    Args:
      name: the study's name (figure titles).
      seeds: seeds every method runs with (the issue's studies: 3).
      methods: ``@<scope>/study_method()`` references.
      metrics: metric gin files every run is evaluated with (``rpu_evaluate``), relative to
        the study's gin file.
      representations: the representations every run is scored on: ``"mean"`` (Fig. 4,
        the tables) and optionally ``"sampled"`` (a table of its own), as disentanglement_lib
        evaluates every model on both postprocessings.
      budget_images: training images every baseline run gets; None: the most any seed of
        the rPU-VAE method (its largest leaf-run count) consumed, measured.
      base_dir: folder the relative config paths start from (set by the runner to the
        study file's folder).
      common_bindings: bindings every training run gets after its method's, e.g.
        ``['ray_executor.address = "auto"']`` on a Ray cluster.
      precision: the precision of every training run that leaves ``training.precision`` at
        ``"auto"`` (a run that sets one keeps it): ``"auto"`` is resolved from the machine at
        the study's first invocation and recorded, so a study resumed on another machine
        keeps it (:mod:`rpu_tf.studies.study_precision`).
      dataset: the data set every training run trains on (``dataset.name``, after its
        method's own bindings), e.g. ``"cars3d"``; None: each method's configs choose.
      executor: ``"local"``: one run at a time on this machine; ``"ray"``: each run (a train
        group: its runs) a Ray task with its method's ``cpus`` / ``gpus``, as many at once as
        the cluster holds; the study directory must be on storage every node sees
        (``docs/cluster.md``).
      ray_address: the cluster to join (``"auto"``: the one this machine belongs to); None:
        a cluster on this machine alone.
    """
    return Study(name=str(name), seeds=tuple(int(s) for s in seeds), methods=tuple(methods),
                 metrics=tuple(metrics), budget_images=None if budget_images is None else int(budget_images),
                 base_dir=base_dir, common_bindings=tuple(common_bindings), precision=str(precision),
                 dataset=None if dataset is None else str(dataset), executor=str(executor),
                 ray_address=ray_address, representations=tuple(str(r) for r in representations))
