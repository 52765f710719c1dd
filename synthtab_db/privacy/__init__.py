"""Differential privacy: accounting, mechanisms, DP column statistics and the budget ledger.

``accountant`` holds all accounting (opacus's RDP accountant over every
Gaussian mechanism a run uses); ``mechanisms`` the pure noise functions;
``columns`` the DP release of category sets, NULL rates and numeric bounds
and quantiles; ``ledger`` the ``synthtab.privacy_ledger`` table, the only
place budget is spent; ``budget`` the checks a statement passes before any
training, and SHOW / SET PRIVACY BUDGET.  opacus (the ``dp`` extra) is
imported only when a DP run needs it.
"""
