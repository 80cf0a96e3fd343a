"""Seconds per metric at disentanglement_lib's study settings: rpu_tf next to dlib, one run.

Both libraries score the same cheap synthetic data set (a 3 x 6 x 10 x 8 x 8 factor grid whose
observation is the factor vector) with the same cheap 10-latent representation (some latents
disentangled, some mixed, two collapsed), so metric time dominates. Each metric runs
``--repeats`` times per library, alternating which goes first; the table shows the fastest
wall-clock run, the ratio rpu_tf / dlib of wall-clock and of CPU time (< 1: ours is faster;
CPU time is less disturbed by other processes on a shared machine) and the largest absolute
difference between the two results (global numpy seed set before every run, for DCI and SAP).

UDR: disentanglement_lib's wheel has no UDR module, so the reference column times the plain
per-pair implementation of its specification (``tests/helpers/udr_reference.py``), i.e. the loops
disentanglement_lib runs, at the rPU-VAE paper's settings (5 replicas, 10 latents, 1000 points
in batches of 10, lasso).

Usage: python benchmarks/metrics_speed.py [--repeats 3] [--dci-repeats 1] [--only mig,udr] [--quick]
(``--quick`` divides every size by 10 for a smoke run.) Needs disentanglement-lib 1.5
installed with --no-deps (see shared/dlib_oracle.md).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import gin  # noqa: E402

import rpu_tf.metrics as ours  # noqa: E402
from tests.helpers import metric_testdata as td  # noqa: E402
from tests.helpers.udr_reference import reference_udr  # noqa: E402

DLIB = "disentanglement_lib.evaluation.metrics."


def import_dlib_metrics() -> dict:
    from rpu_tf.compat.dlib import import_dlib  # disentanglement_lib on TF 2 / NumPy 2, its gin names kept

    names = ("utils", "mig", "dci", "sap_score", "factor_vae", "beta_vae", "modularity_explicitness", "irs",
             "unsupervised_metrics")
    return {n: import_dlib(DLIB + n, hide_from_gin=False) for n in names}


def make_representation(data):
    """10 latents: 3 factors alone, 2 mixtures, 3 noisy copies, 2 constant. Cheap numpy."""
    mix = np.random.RandomState(0).randn(5, 2)

    def fn(x):
        v = 2.0 * np.asarray(x, dtype=np.float64) - 1.0
        z = np.empty((v.shape[0], 10))
        z[:, 0:3] = v[:, 0:3]
        z[:, 3:5] = np.tanh(v @ mix)
        z[:, 5:8] = v[:, 2:5] + 0.05 * np.sin(31.0 * v[:, 0:3])
        z[:, 8:10] = 0.0
        return z
    return fn


def make_udr_models(data, num_models=5):
    fns = []
    for m in range(num_models):
        perm = np.random.RandomState(m).permutation(10)
        kl = np.r_[np.ones(8), 0.001, 0.001][perm]
        base = make_representation(data)
        fns.append(lambda x, base=base, perm=perm, kl=kl: (base(x)[:, perm], kl))
    return fns


def max_abs_diff(a: dict, b: dict) -> float:
    """Largest |a - b| over shared keys; NaN in both counts as equal, NaN in one as inf.

    Real parts only: dlib's sqrtm can return complex round-off.
    """
    diffs = []
    for k in a:
        if k in b:
            x = np.real(np.asarray(a[k])).astype(np.float64)
            y = np.asarray(b[k], dtype=np.float64)
            d = np.where(np.isnan(x) & np.isnan(y), 0.0, np.abs(x - y))
            diffs.append(np.max(np.where(np.isnan(d), np.inf, d)))
    return float(max(diffs)) if diffs else float("nan")


def cases(d, scale: int):
    s = lambda n: max(n // scale, 2)
    hist = dict(discretizer_fn=ours.histogram_discretize, num_bins=20)
    return [
        ("mig", f"num_train={s(10000)}",
         lambda g, f, rs: ours.compute_mig(g, f, rs, num_train=s(10000), **hist),
         lambda g, f, rs: d["mig"].compute_mig(g, f, rs, num_train=s(10000))),
        ("dci", f"num_train={s(10000)} num_test={s(5000)}",
         lambda g, f, rs: ours.compute_dci(g, f, rs, num_train=s(10000), num_test=s(5000)),
         lambda g, f, rs: d["dci"].compute_dci(g, f, rs, num_train=s(10000), num_test=s(5000))),
        ("sap_score", f"num_train={s(10000)} num_test={s(5000)} discrete",
         lambda g, f, rs: ours.compute_sap(g, f, rs, num_train=s(10000), num_test=s(5000), continuous_factors=False),
         lambda g, f, rs: d["sap_score"].compute_sap(g, f, rs, num_train=s(10000), num_test=s(5000),
                                                     continuous_factors=False)),
        ("factor_vae_score", f"batch 64, train {s(10000)}, eval {s(5000)}, var {s(10000)}",
         lambda g, f, rs: ours.compute_factor_vae(g, f, rs, batch_size=64, num_train=s(10000), num_eval=s(5000),
                                                  num_variance_estimate=s(10000), prune_threshold=0.05),
         lambda g, f, rs: d["factor_vae"].compute_factor_vae(g, f, rs, batch_size=64, num_train=s(10000),
                                                             num_eval=s(5000), num_variance_estimate=s(10000))),
        ("beta_vae_sklearn", f"batch 64, train {s(10000)}, eval {s(5000)}",
         lambda g, f, rs: ours.compute_beta_vae_sklearn(g, f, rs, batch_size=64, num_train=s(10000), num_eval=s(5000)),
         lambda g, f, rs: d["beta_vae"].compute_beta_vae_sklearn(g, f, rs, batch_size=64, num_train=s(10000),
                                                                 num_eval=s(5000))),
        ("modularity_explicitness", f"num_train={s(10000)} num_test={s(5000)}",
         lambda g, f, rs: ours.compute_modularity_explicitness(g, f, rs, num_train=s(10000), num_test=s(5000), **hist),
         lambda g, f, rs: d["modularity_explicitness"].compute_modularity_explicitness(
             g, f, rs, num_train=s(10000), num_test=s(5000))),
        ("irs", f"num_train={s(10000)} batch 16",
         lambda g, f, rs: ours.compute_irs(g, f, rs, num_train=s(10000), batch_size=16, **hist),
         lambda g, f, rs: d["irs"].compute_irs(g, f, rs, num_train=s(10000), batch_size=16)),
        ("unsupervised_metrics", f"num_train={s(10000)}",
         lambda g, f, rs: ours.compute_unsupervised_metrics(g, f, rs, num_train=s(10000), **hist),
         lambda g, f, rs: d["unsupervised_metrics"].unsupervised_metrics(g, f, rs, num_train=s(10000))),
    ]


def time_pair(our_call, dlib_call, make_fn, data, repeats: int):
    """Best wall-clock and best CPU seconds of each library, and their last results."""
    best = {"ours": float("inf"), "dlib": float("inf")}
    cpu = {"ours": float("inf"), "dlib": float("inf")}
    results = {}
    for r in range(repeats):
        order = [("ours", our_call), ("dlib", dlib_call)]
        if r % 2:
            order.reverse()
        for name, call in order:
            np.random.seed(0)
            rs = np.random.RandomState(0)
            fn = make_fn(data)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                start, start_cpu = time.perf_counter(), time.process_time()
                results[name] = call(data, fn, rs)
                cpu[name] = min(cpu[name], time.process_time() - start_cpu)
                best[name] = min(best[name], time.perf_counter() - start)
    return best, cpu, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", default="", help="comma-separated metric names")
    parser.add_argument("--dci-repeats", type=int, default=1, help="DCI takes ~30 s per run")
    parser.add_argument("--quick", action="store_true", help="sizes / 10")
    args = parser.parse_args()
    import logging

    logging.getLogger("absl").setLevel(logging.ERROR)
    d = import_dlib_metrics()
    gin.bind_parameter(DLIB + "utils.discretizer.num_bins", 20)
    gin.bind_parameter(DLIB + "utils.discretizer.discretizer_fn", d["utils"]._histogram_discretize)
    gin.bind_parameter(DLIB + "factor_vae.prune_dims.threshold", 0.05)
    data = td.ToyGrid((3, 6, 10, 8, 8), None)
    scale = 10 if args.quick else 1
    only = set(filter(None, args.only.split(",")))
    rows = []
    for name, settings, our_call, dlib_call in cases(d, scale):
        if only and name not in only:
            continue
        make_fn = make_representation
        note = ""
        if name in ("modularity_explicitness", "unsupervised_metrics"):
            # dlib fails (explicitness) or returns NaN (total correlation) on constant latents.
            make_fn = lambda g: (lambda f: lambda x: f(x)[:, :8])(make_representation(g))
            note = " (8 varying latents)"
        reps = args.dci_repeats if name == "dci" and not args.quick else args.repeats
        best, cpu, results = time_pair(our_call, dlib_call, make_fn, data, reps)
        rows.append((name, settings + note, best, cpu, max_abs_diff(results["dlib"], results["ours"])))
        print(f"  done {name}", file=sys.stderr, flush=True)
    if not only or "udr" in only:
        n_points = max(1000 // scale, 20)
        udr_kwargs = dict(batch_size=10, num_data_points=n_points, correlation_matrix="lasso", filter_low_kl=True,
                          kl_filter_threshold=0.01)
        best, cpu, results = time_pair(
            lambda g, f, rs: ours.compute_udr_sklearn(g, f, rs, **udr_kwargs),
            lambda g, f, rs: reference_udr(g, f, rs, **udr_kwargs),
            make_udr_models, data, args.repeats)
        rows.append(("udr_sklearn (lasso)", f"5 x 10 latents, {n_points} pts, batch 10; ref: spec loops",
                     best, cpu, max_abs_diff(results["dlib"], results["ours"])))
        udr_kwargs["correlation_matrix"] = "spearman"
        best, cpu, results = time_pair(
            lambda g, f, rs: ours.compute_udr_sklearn(g, f, rs, **udr_kwargs),
            lambda g, f, rs: reference_udr(g, f, rs, **udr_kwargs),
            make_udr_models, data, args.repeats)
        rows.append(("udr_sklearn (spearman)", "same; ref: spec loops", best, cpu,
                     max_abs_diff(results["dlib"], results["ours"])))

    print(f"data: ToyGrid{tuple(data.grid.factor_sizes)}, representation: 10 latents (numpy); "
          f"best of {args.repeats} (DCI: {args.dci_repeats}); sizes / {scale}")
    header = (f"{'metric':<24} {'settings':<50} {'rpu_tf s':>9} {'dlib s':>9} {'ratio':>6}"
              f" {'cpu ratio':>9} {'max |diff|':>10}")
    print(header)
    print("-" * len(header))
    for name, settings, wall, cpu, diff in rows:
        print(f"{name:<24} {settings:<50} {wall['ours']:9.3f} {wall['dlib']:9.3f} {wall['ours'] / wall['dlib']:6.2f}"
              f" {cpu['ours'] / cpu['dlib']:9.2f} {diff:10.1e}")


if __name__ == "__main__":
    main()
