"""Batch scoring: files in, files out, with the contract and the verified artifact the service uses."""

import warnings

# pandera imports PySpark when it is installed (the spark group), and PySpark 4 warns on import that
# pandas 3 is not fully supported; the batch tests check what scoring relies on (tests/batch/).
warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas", FutureWarning)
