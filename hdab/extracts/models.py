"""Tables of the extracts domain, gathered from its sub-domains so that one import registers them all."""

from __future__ import annotations

from hdab.extracts.deliveries.models import Delivery, DeliveryAccess, DeliveryReceipt
from hdab.extracts.jobs.models import ExtractJob, ExtractStep
from hdab.extracts.optouts.models import OptOutEvent

__all__ = ["Delivery", "DeliveryAccess", "DeliveryReceipt", "ExtractJob", "ExtractStep", "OptOutEvent"]
