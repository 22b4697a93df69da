"""Placeholder for the code executor runtime (issue 18, runtime half): replaced at merge."""
