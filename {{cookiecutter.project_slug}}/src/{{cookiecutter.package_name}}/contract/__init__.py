"""The contract every other layer obeys: the dataset, its schema, request and response models, the artifact."""

import warnings

# pandera imports PySpark when it is installed (`make score-spark` adds the spark group to the venv),
# and PySpark 4 warns on import that pandas 3 is not fully supported: a line on every service start,
# which the one-line refusals must not carry. The batch tests check what Spark scoring relies on.
warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas", FutureWarning)
