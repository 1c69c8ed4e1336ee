"""A GitHub Actions runner for the template's tests: expressions, the actions' stand-ins, jobs, the run."""
