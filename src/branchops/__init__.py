"""BranchOps: operations management for a retail bank branch and its outlets."""

__version__ = "0.1.0"
