"""Choosing items, and the rows of a batch.

* ``ranking``: the best allowed items with uniformly random tie-breaks, uniform random slates;
* ``row_groups``: rows grouped by replica or pair (and their slots within a group), identical rows found once;
* ``rows``: a Context built from checked fields, a subset of its rows, range checks.
"""
