"""Figures and images: model visualizations, PBT trajectories, leaf-run and comparison plots.

Needs the ``viz`` extra (matplotlib, pillow): ``pip install 'rpu_tf[viz]'``. Importing this
package is cheap; the plotting libraries (and TensorFlow, for model visualizations) are
imported by the modules that use them.
"""
