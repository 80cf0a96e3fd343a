"""Disentanglement metrics with disentanglement_lib's names, gin scopes and results.

Importing this package registers every gin scope (``mig``, ``dci``, ``sap_score``,
``downstream_task``, ``factor_vae_score``, ``beta_vae_sklearn``, ``modularity_explicitness``,
``irs``, ``unsupervised_metrics``, ``udr_sklearn``, ``surrogate_mig``, ``discretizer``,
``histogram_discretizer``, ``prune_dims``, ``predictor``, ...) and is cheap: only numpy and gin
are imported here; scikit-learn and scipy are imported when a metric first needs them,
TensorFlow never. Metrics log to their own loggers (``rpu_tf.metrics.<module>``): their
progress at DEBUG, what a user should know at WARNING.

Every ground-truth metric has the signature
``compute_x(ground_truth_data, representation_function, random_state, artifact_dir=None, ...)``
and returns a flat dict; given the same inputs and ``np.random.RandomState`` seed it returns
disentanglement_lib 1.5's numbers (DCI, discrete SAP and the downstream task with boosted
trees also need numpy's global seed).
"""

from rpu_tf.metrics import (
    beta_vae,
    dci,
    downstream_task,
    factor_vae,
    information,
    irs,
    mig,
    modularity_explicitness,
    sap_score,
    surrogate_mig,
    udr,
    unsupervised_metrics,
    utils,
)
from rpu_tf.metrics.beta_vae import compute_beta_vae_sklearn
from rpu_tf.metrics.dci import compute_dci
from rpu_tf.metrics.downstream_task import compute_downstream_task
from rpu_tf.metrics.factor_vae import compute_factor_vae
from rpu_tf.metrics.irs import compute_irs
from rpu_tf.metrics.mig import compute_mig, compute_mig_gaps, compute_mig_on_fixed_data
from rpu_tf.metrics.modularity_explicitness import compute_modularity_explicitness
from rpu_tf.metrics.sap_score import compute_sap
from rpu_tf.metrics.surrogate_mig import compute_surrogate_mig
from rpu_tf.metrics.udr import MemberScore, compute_udr_sklearn, member_score
from rpu_tf.metrics.unsupervised_metrics import unsupervised_metrics as compute_unsupervised_metrics
from rpu_tf.metrics.utils import RepresentationError, histogram_discretize, make_discretizer

__all__ = [
    "MemberScore",
    "RepresentationError",
    "beta_vae",
    "compute_beta_vae_sklearn",
    "compute_dci",
    "compute_downstream_task",
    "compute_factor_vae",
    "compute_irs",
    "compute_mig",
    "compute_mig_gaps",
    "compute_mig_on_fixed_data",
    "compute_modularity_explicitness",
    "compute_sap",
    "compute_surrogate_mig",
    "compute_udr_sklearn",
    "compute_unsupervised_metrics",
    "dci",
    "downstream_task",
    "factor_vae",
    "histogram_discretize",
    "information",
    "irs",
    "make_discretizer",
    "member_score",
    "mig",
    "modularity_explicitness",
    "sap_score",
    "surrogate_mig",
    "udr",
    "unsupervised_metrics",
    "utils",
]
