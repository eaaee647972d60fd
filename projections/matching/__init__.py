"""The matching read model: ranked, explained candidates searched ring by ring, and back."""

from .model import MatchingModel
from .queries import (
    AssignmentMatch,
    AssignmentSpec,
    Match,
    MatchParams,
    SkillMatch,
    assignments_for,
    candidates,
    candidates_for_assignment,
)

__all__ = [
    "AssignmentMatch",
    "AssignmentSpec",
    "Match",
    "MatchParams",
    "MatchingModel",
    "SkillMatch",
    "assignments_for",
    "candidates",
    "candidates_for_assignment",
]
