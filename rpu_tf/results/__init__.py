"""disentanglement_lib's result-directory layout (gin, json, aggregate files)."""

from rpu_tf.results.layout import (
    aggregate_json_results,
    gin_dict,
    namespaced_dict,
    save_dict,
    save_gin,
    update_result_directory,
)

__all__ = ["aggregate_json_results", "gin_dict", "namespaced_dict", "save_dict", "save_gin",
           "update_result_directory"]
