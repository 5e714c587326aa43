"""Every table of the service, named once: core's and each domain's models, so the metadata is whole.

Importing a domain's ``models`` module registers its tables on core's ``Base``. Alembic's
autogenerate (``hdab db revision``) compares :data:`metadata` with the database; the migrations
themselves (``hdab.core.migrations``) need no models.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from hdab.applications import models as applications_models
from hdab.catalog import models as catalog_models
from hdab.core import models as core_models
from hdab.core.db import Base
from hdab.extracts import models as extracts_models
from hdab.reception import models as reception_models

MODULES = (core_models, catalog_models, applications_models, extracts_models, reception_models)

metadata: MetaData = Base.metadata
