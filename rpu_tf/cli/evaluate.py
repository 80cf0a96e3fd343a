"""``rpu_evaluate``: disentanglement metrics of trained models, in disentanglement_lib's layout.

Examples::

    rpu_evaluate --model_dir=runs/btc --gin_config=gin_configs/metrics/mig.gin
    rpu_evaluate --model_dir=runs/btc --gin_config=gin_configs/metrics/study.txt
    rpu_evaluate --model_dir=runs/btc --gin_config=gin_configs/metrics/fig4.txt \\
        --gin_bindings="mig.num_train = 1000" --representations=mean
    rpu_evaluate --model_dir=runs/rpu --model_subdir='stages/*' \\
        --gin_config=gin_configs/metrics/mig.gin

``--model_dir`` is a run directory of ``rpu_train`` (or a PBT/rPU-VAE run: anything with
``model/saved_model`` and ``model/results/gin/train.gin``). Each ``--gin_config`` is one
metric config (or a ``.txt`` list of them); ``--gin_bindings`` apply to every metric and to
postprocessing. Results go to ``RUN/metrics/{mean,sampled}/<metric>/results/`` after
postprocessing into ``RUN/postprocessed/{mean,sampled}/``; aggregate them with
``rpu_aggregate``.
"""

from __future__ import annotations

import json
import logging
from typing import Sequence

from absl import flags

from rpu_tf.cli.failures import report_failures
from rpu_tf.cli.flag_parsing import parse_command_line, run_main
from rpu_tf.utils.gin_imports import allow_imports

logger = logging.getLogger("rpu_evaluate")


def define_flags(values: flags.FlagValues) -> None:
    flags.DEFINE_string("model_dir", None, "Run directory of the trained model (rpu_train "
                        "--model_dir), or its model/ folder.", flag_values=values)
    flags.DEFINE_multi_string("gin_config", [], "Metric config (gin_configs/metrics/mig.gin) or "
                              "list of them (gin_configs/metrics/study.txt).",
                              flag_values=values)
    flags.DEFINE_multi_string("gin_bindings", [], "Gin bindings for every metric and the "
                              'postprocessing, e.g. "mig.num_train = 1000".', flag_values=values)
    flags.DEFINE_list("representations", ["mean", "sampled"],
                      "Postprocessings to evaluate (mean, sampled).", flag_values=values)
    flags.DEFINE_string("model_subdir", None, "Evaluate every folder matching this glob below "
                        "--model_dir that holds a trained model (e.g. 'stages/*': each rPU-VAE stage's "
                        "best replica; '**': every model) instead of the run's own model.", flag_values=values)
    flags.DEFINE_boolean("overwrite", False, "Replace existing outputs (once the new ones are complete: a "
                         "failed evaluation leaves them as they were).", flag_values=values)
    flags.DEFINE_boolean("allow_gin_imports", False, "Let the gin configs' 'import' lines import Python modules "
                         "(they run code; only for configs you trust: docs/security.md).", flag_values=values)


def _headline(path: str) -> str:
    """``metric (representation): key=value`` of a written evaluation.json."""
    with open(path, encoding="utf-8") as f:
        result = json.load(f)
    name = str(result.get("evaluation_config.evaluation.name", "")).strip("'")
    rep = str(result.get("postprocess_config.postprocess.name", "")).strip("'")
    scores = [f"{k.split('.', 1)[1]}={v:.4f}" for k, v in result.items()
              if k.startswith("evaluation_results.") and isinstance(v, (int, float))
              and not k.endswith(("elapsed_time", "num_active_dims"))]
    return f"{name} ({rep}): {', '.join(scores[:4])}"


def main(argv: Sequence[str]) -> int:
    values = parse_command_line(argv, define_flags, __doc__, logger, tensorflow=True)
    if isinstance(values, int):
        return values
    if not values.model_dir or not values.gin_config:
        logger.error("Give --model_dir and at least one --gin_config (e.g. "
                     "--gin_config=gin_configs/metrics/study.txt).")
        return 2
    from rpu_tf.evaluation import evaluate_model

    if values.allow_gin_imports:
        allow_imports()

    def evaluate() -> int:
        written = evaluate_model(values.model_dir, values.gin_config, values.gin_bindings,
                                 values.representations, values.overwrite, values.model_subdir)
        for path in written:
            logger.info("%s  [%s]", _headline(path), path)
        return 0

    return report_failures(evaluate, logger)


def run() -> None:
    """Console entry point."""
    run_main(main)


if __name__ == "__main__":
    run()
