"""The reputation read model: explainable scores per (employee, skill); see docs/reputation.md."""

from .formula import (
    Raters,
    Rating,
    ReputationParams,
    Score,
    WeightedRating,
    combine,
    score_ratings,
    weigh,
)
from .model import ReputationModel, Scored, score_all
from .queries import explain, reputation, snapshot_scores
from .standing import Standing, compute_standing

__all__ = [
    "Raters",
    "Rating",
    "ReputationModel",
    "ReputationParams",
    "Score",
    "Scored",
    "Standing",
    "WeightedRating",
    "combine",
    "compute_standing",
    "explain",
    "reputation",
    "score_all",
    "score_ratings",
    "snapshot_scores",
    "weigh",
]
