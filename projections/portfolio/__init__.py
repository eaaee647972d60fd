"""The portfolio read model: the four parts of each employee's portfolio, honouring visibility."""

from .model import PortfolioModel
from .queries import is_department_manager, part_settings, portfolio, viewer_sees
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
    "is_department_manager",
    "part_settings",
    "portfolio",
    "viewer_sees",
]
