"""How likely a policy's choice was: the propensities agents report with their decisions.

* ``greedy``: exact, for a ranking by fixed scores with random tie-breaks and for uniform slates;
* ``gaussian_win`` / ``beta_win``: exact P(an arm has the largest draw) for independent Gaussian /
  Beta posteriors, by quadrature (no random numbers);
* ``monte_carlo``: estimates from further posterior draws, per row or from a pool a replica's rows share.
"""
