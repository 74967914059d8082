"""Workflows tables: data documents, workflow instances with their timeline and evidence,
self-assessments, accreditation results, library facts, goals, activities, population figures.

Split by screen family so no module grows past the house limit; import from here.
"""
from __future__ import annotations

from workflows.models.accreditation import AccreditationResult, Answer, Assessment, AssessmentStatus, LibraryFact
from workflows.models.documents import DocumentKind, WfDocument
from workflows.models.goals import Activity, Goal, GoalSnapshot, PopulationFigure
from workflows.models.instances import Evidence, Instance, InstanceEvent

__all__ = [
    "AccreditationResult", "Activity", "Answer", "Assessment", "AssessmentStatus", "DocumentKind", "Evidence",
    "Goal", "GoalSnapshot", "Instance", "InstanceEvent", "LibraryFact", "PopulationFigure", "WfDocument",
]
