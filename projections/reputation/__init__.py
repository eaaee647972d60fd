"""The reputation read model: explainable scores per (employee, skill); see docs/reputation.md."""

from .formula import Rating, ReputationParams, Score, WeightedRating, combine, score_ratings, weigh
from .model import ReputationModel
from .queries import explain, reputation, snapshot_scores
from .standing import Standing, compute_standing

__all__ = [
    "Rating",
    "ReputationModel",
    "ReputationParams",
    "Score",
    "Standing",
    "WeightedRating",
    "combine",
    "compute_standing",
    "explain",
    "reputation",
    "score_ratings",
    "snapshot_scores",
    "weigh",
]
