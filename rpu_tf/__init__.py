"""rpu_tf: robust unsupervised disentanglement (rPU-VAE) in TensorFlow/Keras.

Importing the top-level package is cheap: TensorFlow is imported only by the layers that
need it (models, training), never by ``rpu_tf.data`` or ``rpu_tf.metrics``.
"""

__version__ = "0.1.0"
