"""Thompson-sampling decisions for context-free posteriors (``base.SamplingAgent`` drives them).

A "slot" is one full posterior draw of every arm of a replica; a replica's rows share its slots.

* ``slots``: which slots each row acts on and reads, and the propensity estimate from their winners;
* ``frozen_slots``: single items from full slot draws, the propensity slots drawn when first read;
* ``sparse_slots``: single items from slots of which only the arms that can win were drawn;
* ``pooled``: slates (and big masked acts) ranked on one pool of slots;
* ``beta_exceedance`` (with ``beta_tail``) and ``dirichlet_exceedance``: the exact lazy samplers
  that draw only those arms;
* ``thresholds``: how those samplers choose the level that only a few arms exceed;
* ``beta_ladder``: exact Beta winners from one uniform per arm and a ladder of thresholds;
* ``beta_exact``: Beta decisions whose propensity is the exact quadrature, computed on read.
"""
