"""Studies: methods x seeds at one budget of training images, run as ordinary ``rpu_train``
run directories, evaluated alike, reported as the paper's Fig. 4, Fig. 6 and tables
(``rpu_study``; the studies are gin files under ``gin_configs/studies/``)."""

from rpu_tf.studies.report import collect_results, summary_table, write_report
from rpu_tf.studies.jobs import (EvaluateJob, SubprocessLauncher, TrainJob, TrainTogetherJob, in_process_launcher,
                                 subprocess_launcher)
from rpu_tf.studies.plan import Run, plan_runs
from rpu_tf.studies.runner import run_study
from rpu_tf.studies.selection import method_udr, udr_selection
from rpu_tf.studies.spec import Method, Study, leaf_run_name, study_method, study_spec
from rpu_tf.studies.status import StudyStatus, study_progress

__all__ = [
    "EvaluateJob", "Method", "Run", "Study", "StudyStatus", "SubprocessLauncher", "TrainJob", "TrainTogetherJob",
    "collect_results", "in_process_launcher", "leaf_run_name", "method_udr", "plan_runs", "run_study",
    "study_method", "study_progress", "study_spec", "subprocess_launcher", "summary_table", "udr_selection",
    "write_report",
]
