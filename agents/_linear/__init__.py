"""The linear agents' machinery (``linucb``, ``lin_ts``, ``logistic_ts`` and their discounted and
private versions): Gaussian posteriors over linear-model weights, batched over replicas (and arms).

Both posteriors keep Σ = (λI + Σ_i w_i φ_i φ_iᵀ)⁻¹ (the posterior covariance up to the noise
variance) and the mean μ, with two mean updates: ridge / Bayesian linear regression (b += w·t·φ,
μ = Σb, exact) and one Newton step (online Laplace, for logistic models: μ += Σ_new Σ_i φ_i t_i, t_i
the residual y − p).

* ``model``: ``LinearModelMixin``, which holds a posterior and scores and fits rows with it;
* ``design``: the user and item design vectors [x, 1], [z, 1];
* ``posterior_disjoint``: one model per (replica, arm) on user features, Sherman–Morrison updates;
* ``posterior_shared``: one model per replica on user ⊗ item features (``kron_layout``), Cholesky
  updates;
* ``thompson_draws``: the single-item Thompson decisions and their lazy propensities;
* ``discounted``: the discounted agents' fading statistics (``DiscountedLinearMixin``);
* ``online_noise``: ``lin_ts``'s noise scale estimated from its ridge fit's residuals.

Both posteriors and the Thompson draws run in numpy or on a torch device, written once over the
array API (``banditsim._xp`` holds the few operations it lacks).
"""
