"""``rpu_visualize``: pictures of what a model learned, PBT trajectories, leaf-run plots.

Examples::

    rpu_visualize --model_dir=runs/btc
    rpu_visualize --model_dir=runs/rpu --model_subdir='stages/*'
    rpu_visualize --generations=runs/pbt/generations.jsonl --output_dir=figures
    rpu_visualize --leaf_runs=1:runs/dsp_l1_s0 --leaf_runs=1:runs/dsp_l1_s1 \\
        --leaf_runs=3:runs/dsp_l3_s0 --leaf_runs=3:runs/dsp_l3_s1 --output_dir=figures

``--model_dir``: reconstructions, samples, latent traversals (PNG) and animated traversals
(GIF) in disentanglement_lib's ``RUN/visualizations/`` layout, plus the hyperparameter
trajectories of every PBT ``generations.jsonl`` below the run (``visualizations/pbt/``).
``--generations``: trajectories of the given logs (``OUTPUT_DIR/pbt/trajectories{i}.png``).
``--leaf_runs=COUNT:RUN_DIR``: the score against the number of leaf-runs of evaluated
rPU-VAE runs (``OUTPUT_DIR/leaf_runs.png``; evaluate them with rpu_evaluate first).
Needs matplotlib and pillow: pip install 'rpu_tf[viz]'.
"""

from __future__ import annotations

import logging
import os
from typing import Sequence

from absl import flags

from rpu_tf.cli.failures import report_failures
from rpu_tf.cli.flag_parsing import UsageError, parse_command_line, run_main

logger = logging.getLogger("rpu_visualize")


def define_flags(values: flags.FlagValues) -> None:
    flags.DEFINE_string("model_dir", None, "Run directory (rpu_train, PBT or rPU-VAE run).",
                        flag_values=values)
    flags.DEFINE_string("model_subdir", None, "Visualize every folder matching this glob below "
                        "--model_dir that holds a trained model.", flag_values=values)
    flags.DEFINE_string("output_dir", None, "Output folder (default: RUN/visualizations).",
                        flag_values=values)
    flags.DEFINE_multi_string("generations", [], "PBT generations.jsonl to plot.",
                              flag_values=values)
    flags.DEFINE_multi_string("leaf_runs", [], "COUNT:RUN_DIR of an evaluated rPU-VAE run.",
                              flag_values=values)
    flags.DEFINE_list("metrics", ["mig", "dci"], "Metrics of the leaf-run plot.",
                      flag_values=values)
    flags.DEFINE_string("representation", "mean", "Postprocessing of the leaf-run plot.",
                        flag_values=values)
    flags.DEFINE_integer("num_animations", 5, "Animated data points per animation kind.",
                         lower_bound=0, flag_values=values)
    flags.DEFINE_integer("num_frames", 20, "Frames per animation.", lower_bound=1,
                         flag_values=values)
    flags.DEFINE_float("fps", 10.0, "Frames per second of the animations.", lower_bound=0.1,
                       flag_values=values)
    flags.DEFINE_boolean("overwrite", False, "Replace existing outputs.", flag_values=values)


def _run(values) -> list[str]:
    from rpu_tf.visualize.leaf_runs import collect_leaf_run_scores, parse_leaf_run_spec, plot_leaf_runs
    from rpu_tf.layout.paths import PBT_DIR, VISUALIZATIONS_DIR
    from rpu_tf.visualize.run import plot_generation_logs, visualize_run

    written: list[str] = []
    output_dir = values.output_dir
    if (values.generations or values.leaf_runs) and not output_dir:
        if not values.model_dir:
            raise UsageError("--generations and --leaf_runs need --output_dir.")
        output_dir = os.path.join(values.model_dir, VISUALIZATIONS_DIR)
    if values.leaf_runs:  # validate before drawing anything
        specs = [parse_leaf_run_spec(s) for s in values.leaf_runs]
        target = os.path.join(output_dir, "leaf_runs.png")
        if os.path.exists(target) and not values.overwrite:
            raise FileExistsError(f"{target} already exists; pass --overwrite to replace it.")
    if values.model_dir:
        written += visualize_run(values.model_dir, values.output_dir, values.overwrite,
                                 values.model_subdir, values.num_animations, values.num_frames,
                                 values.fps)
    if values.generations:
        names = ["trajectories.png"] if len(values.generations) == 1 else [
            f"trajectories{i}.png" for i in range(len(values.generations))]
        written += plot_generation_logs(values.generations, os.path.join(output_dir, PBT_DIR),
                                        names, values.overwrite)
    if values.leaf_runs:
        scores = collect_leaf_run_scores(specs, values.metrics, None if values.representation == "all"
                                         else values.representation)
        written.append(plot_leaf_runs(scores, target, values.metrics))
    return written


def main(argv: Sequence[str]) -> int:
    values = parse_command_line(argv, define_flags, __doc__, logger, tensorflow=True)
    if isinstance(values, int):
        return values
    if not (values.model_dir or values.generations or values.leaf_runs):
        logger.error("Give --model_dir, --generations or --leaf_runs (see --help).")
        return 2

    def visualize() -> int:
        try:
            written = _run(values)
        except UsageError as error:
            logger.error("%s", error)
            return 2
        logger.info("Wrote %d files%s.", len(written), f" (first: {written[0]})" if written else "")
        return 0

    return report_failures(visualize, logger)  # bad inputs, missing plotting library, full disk: one line


def run() -> None:
    """Console entry point."""
    run_main(main)


if __name__ == "__main__":
    run()
