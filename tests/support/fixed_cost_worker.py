"""The Celery app of worker tests and benches: webapp's app, with the fixed-cost fake detector registered.

celery -A tests.support.fixed_cost_worker worker ...
"""

from tests.support.fixed_cost import register
from webapp.celery import app

register()

__all__ = ["app"]
