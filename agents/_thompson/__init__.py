"""Thompson-sampling decisions for context-free posteriors (``base.SamplingAgent`` drives them).

A "slot" is one full posterior draw of every arm of a replica; a replica's rows share its slots.

* ``frozen_slots``: acting on full slot draws, the propensity slots drawn when first read;
* ``sparse_slots``: the winners of slots of which only the arms that can win were drawn;
* ``beta_exceedance`` (with ``beta_tail``) and ``dirichlet_exceedance``: exact lazy samplers that
  draw only those arms;
* ``beta_ladder``: exact Beta winners from one uniform per arm and a ladder of thresholds;
* ``beta_exact``: Beta decisions whose propensity is the exact quadrature, computed on read.
"""
