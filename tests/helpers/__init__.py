"""Helpers of the test suite: data and models for tests (``data_helpers``, ``training_helpers``,
``metric_testdata``, ``pbt_toy``, ``udr_reference``, ``dlib_oracle``, ``handwritten_math``: the
loss formulas before TensorFlow Probability, for parity tests and benchmarks/tfp_step.py) and the scripts that
tests run in a fresh interpreter (``*_run.py``, ``*_main.py``, ``full_disk_run.sh``).

Tests import them as ``tests.helpers.<module>``; scripts run as
``python tests/helpers/<script>.py ...`` and put the repository root on ``sys.path``.
"""
