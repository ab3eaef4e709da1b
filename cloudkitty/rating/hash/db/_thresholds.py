"""Thresholds of the hashmap store."""
from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from cloudkitty import exceptions
from cloudkitty.db.models.hashmap import (
    HashMapGroup,
    HashMapThreshold,
)
from cloudkitty.rating.hash.db._base import StoreBase
from cloudkitty.rating.hash.db.records import (
    LIMITS,
    Group,
    NewThreshold,
    RuleFilters,
    Threshold,
    ThresholdUpdate,
    check_length,
    check_type,
    cost_value,
    level_value,
    same,
)


class ThresholdStore(StoreBase):
    """Thresholds: hard-deleted, no validity window."""

    # -- thresholds --------------------------------------------------------

    def list_thresholds(self, filters: RuleFilters) -> list[Threshold]:
        with self._session() as session:
            query = self._filtered(session, HashMapThreshold, filters)
            if query is None:
                return []
            return self._thresholds_out(session,
                                        session.scalars(query).all())

    def group_thresholds(self, group_id: str) -> list[Threshold]:
        return self.list_thresholds(RuleFilters(group_id=group_id))

    def _threshold_row(self, session: Session, threshold_id: str
                       ) -> HashMapThreshold:
        row = session.scalars(sa.select(HashMapThreshold).where(
            HashMapThreshold.threshold_id == threshold_id)).first()
        if row is None:
            raise exceptions.NotFound(f"No such threshold: {threshold_id}")
        return row

    def get_threshold(self, threshold_id: str) -> Threshold:
        with self._session() as session:
            return self._thresholds_out(
                session, [self._threshold_row(session, threshold_id)])[0]

    def threshold_group(self, threshold_id: str) -> Group:
        with self._session() as session:
            row = self._threshold_row(session, threshold_id)
            if row.group_id is None:
                raise exceptions.NotFound(
                    f"Threshold has no group (UUID: {threshold_id})")
            group = session.get(HashMapGroup, row.group_id)
            assert group is not None
            return Group(group.group_id, group.name)

    @staticmethod
    def _check_threshold_conflict(session: Session, row: HashMapThreshold,
                                  exclude_pk: int | None = None) -> None:
        """409 when the parent already has a threshold at that level for
        the same tenant. Unlike the unique constraints, a NULL tenant counts
        too: two global thresholds at one level would make pricing depend
        on row order."""
        T = HashMapThreshold
        query = sa.select(T.threshold_id).where(
            T.level == row.level, same(T.tenant_id, row.tenant_id),
            same(T.service_id, row.service_id),
            same(T.field_id, row.field_id))
        if exclude_pk is not None:
            query = query.where(T.id != exclude_pk)
        existing = session.execute(query.limit(1)).scalar()
        if existing is not None:
            kind = "service" if row.service_id is not None else "field"
            raise exceptions.Conflict(
                f"Threshold '{row.level}' already exists for {kind}, "
                f"tenant: '{row.tenant_id}' (UUID: {existing})")

    def create_threshold(self, new: NewThreshold) -> Threshold:
        check_type(new.map_type)
        level = level_value(new.level)
        cost = cost_value(new.cost)
        check_length(new.tenant_id, "tenant_id", LIMITS["tenant_id"])
        with self._session() as session:
            service, field = self._parents(session, new.service_id,
                                           new.field_id)
            row = HashMapThreshold(
                threshold_id=str(uuid.uuid4()), level=level, cost=cost,
                map_type=new.map_type,
                service_id=service.id if service else None,
                field_id=field.id if field else None,
                group_id=self._group_pk(session, new.group_id),
                tenant_id=new.tenant_id)
            self._check_threshold_conflict(session, row)
            session.add(row)
            self._flush_unique(session, row)
            return self._thresholds_out(session, [row])[0]

    def update_threshold(self, threshold_id: str,
                         update: ThresholdUpdate) -> Threshold:
        """Change level, cost, type, group or tenant (no time window)."""
        if update.map_type is not None:
            check_type(update.map_type)
        check_length(update.tenant_id, "tenant_id", LIMITS["tenant_id"])
        with self._session() as session:
            row = self._threshold_row(session, threshold_id)
            if update.level is not None:
                row.level = level_value(update.level)
            if update.cost is not None:
                row.cost = cost_value(update.cost)
            if update.map_type is not None:
                row.map_type = update.map_type
            if update.group_id:
                row.group_id = self._group_pk(session, update.group_id)
            elif update.clear_group:
                row.group_id = None
            if update.tenant_id:
                row.tenant_id = update.tenant_id
            elif update.clear_tenant:
                row.tenant_id = None
            with session.no_autoflush:
                self._check_threshold_conflict(session, row,
                                               exclude_pk=row.id)
            self._flush_unique(session, row)
            return self._thresholds_out(session, [row])[0]

    @staticmethod
    def _flush_unique(session: Session, row: HashMapThreshold) -> None:
        # The unique constraints still guard against a concurrent writer.
        try:
            session.flush()
        except sa_exc.IntegrityError:
            raise exceptions.Conflict(
                f"Threshold '{row.level}' already exists, tenant: "
                f"'{row.tenant_id}'") from None

    def delete_threshold(self, threshold_id: str) -> None:
        """Hard delete."""
        with self._session() as session:
            session.delete(self._threshold_row(session, threshold_id))
