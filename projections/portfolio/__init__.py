"""The portfolio read model: the four parts of each employee's portfolio, honouring visibility."""

from .model import PortfolioModel
from .queries import granted_parts, part_settings, portfolio, viewer_sees
from .views import (
    AmbitionView,
    AssignmentWork,
    CompletionGrade,
    ContributionView,
    EndorsedContribution,
    EndorsementView,
    PartView,
    Personal,
    Portfolio,
)

__all__ = [
    "AmbitionView",
    "AssignmentWork",
    "CompletionGrade",
    "ContributionView",
    "EndorsedContribution",
    "EndorsementView",
    "PartView",
    "Personal",
    "Portfolio",
    "PortfolioModel",
    "granted_parts",
    "part_settings",
    "portfolio",
    "viewer_sees",
]
