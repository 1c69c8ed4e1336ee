"""The exit statuses of the scoring commands: a cron job or a workflow tells the outcomes apart by these."""

SCORED = 0  # every row scored
REJECTED = 3  # the valid rows scored; the others are in the rejected-rows file with their reasons
UNUSABLE = 4  # the input cannot be scored at all (unreadable, a contract column missing): nothing written
REFUSED = 5  # the model artifact failed its check: nothing read, nothing written
NO_SPARK = 6  # Spark cannot start here: no Java runtime, or PySpark not installed
