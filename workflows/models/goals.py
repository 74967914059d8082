"""Transformation goals with their nightly history, literacy activities and population figures."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ils.extensions import db
from ils.mixins import LibraryScopedMixin, TimestampMixin, UTCDateTime, utcnow


class Goal(TimestampMixin, db.Model):
    """A goal owned by the DPK (library_id None: the whole city) or by one library."""

    __tablename__ = "wf_goal"

    id: Mapped[int] = mapped_column(primary_key=True)
    library_id: Mapped[int | None] = mapped_column(ForeignKey("library.id"), index=True)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    theme: Mapped[str] = mapped_column(String(32), nullable=False, default="")
    source: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    # A name from the metrics registry, or "manual" for figures entered by hand.
    indicator: Mapped[str] = mapped_column(String(64), nullable=False)
    # How a metric becomes one figure on a day: "year" (this calendar year so far), "rolling"
    # (the last 365 days) or "level" (the standing value, e.g. titles held).
    period: Mapped[str] = mapped_column(String(16), nullable=False, default="level")
    unit: Mapped[str] = mapped_column(String(32), nullable=False, default="")
    baseline: Mapped[float] = mapped_column(Float, nullable=False)
    baseline_on: Mapped[date] = mapped_column(Date, nullable=False)
    target: Mapped[float] = mapped_column(Float, nullable=False)
    deadline: Mapped[date] = mapped_column(Date, nullable=False)
    owner: Mapped[str] = mapped_column(String(200), nullable=False)
    # How far behind a straight line from baseline to deadline still counts as on track (0.1 = 10 %).
    at_risk_margin: Mapped[float] = mapped_column(Float, nullable=False, default=0.1)
    archived: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class GoalSnapshot(db.Model):
    """A goal's figure on one day: from the nightly job, or entered by hand for manual goals."""

    __tablename__ = "wf_goal_snapshot"
    __table_args__ = (UniqueConstraint("goal_id", "taken_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    goal_id: Mapped[int] = mapped_column(ForeignKey("wf_goal.id", ondelete="CASCADE"), nullable=False)
    taken_on: Mapped[date] = mapped_column(Date, nullable=False)
    value: Mapped[float] = mapped_column(Float, nullable=False)
    source: Mapped[str] = mapped_column(String(16), nullable=False, default="metric")
    note: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(100), nullable=False, default="system")


class Activity(LibraryScopedMixin, db.Model):
    """A literacy or social-inclusion activity held by a library: counts, partners and outcomes.

    Participants are counts by gender and age group only, never names (UU PDP minimisation).
    """

    __tablename__ = "wf_activity"
    __table_args__ = (Index("ix_wf_activity_library_on", "library_id", "held_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    held_on: Mapped[date] = mapped_column(Date, nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    tpbis: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    participants_male: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    participants_female: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # {"anak": n, "remaja": n, "dewasa": n, "lansia": n}: sums to the participants when given.
    age_groups: Mapped[dict[str, int]] = mapped_column(JSON, nullable=False, default=dict)
    partners: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    outcomes: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100), nullable=False)

    @property
    def participants(self) -> int:
        """Everyone who took part."""
        return self.participants_male + self.participants_female


class PopulationFigure(db.Model):
    """The population figures for one year that IPLM divides by, entered by the DPK."""

    __tablename__ = "wf_population"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    residents: Mapped[int | None] = mapped_column(Integer)
    pupils: Mapped[int | None] = mapped_column(Integer)
    students: Mapped[int | None] = mapped_column(Integer)
    employees: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(100), nullable=False)
