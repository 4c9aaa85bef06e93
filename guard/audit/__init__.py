"""Audit: one trace per guarded call and a durable, tamper-evident decision ledger."""

from guard.audit.api import Auditor, CallAudit, DecisionRecord, NullAuditor

__all__ = ["Auditor", "CallAudit", "DecisionRecord", "NullAuditor"]
