"""GET /dashboard (the caller's figures) and GET /dashboard/stats (admins: per period, with the ones before)."""
from __future__ import annotations

from api.auth import current_principal
from api.docs import Blueprint
from api.extensions import db
from api.mentorship import dashboard_figures, dashboard_updates, period_figures
from api.mentorship.schemas import DashboardOut, StatsOut, StatsQuery
from shared.timeutil import utcnow

blp = Blueprint("dashboard", __name__, url_prefix="/api/v1", description="Dashboards, live over `dashboard:updated`")


@blp.route("/dashboard")
@blp.authenticated()
@blp.response(200, DashboardOut)
def show_dashboard():
    """The caller's dashboard; from now on `dashboard:updated` brings its changes to the caller's room."""
    me, now = current_principal(), utcnow()
    figures = dashboard_figures.dashboard(me, now)
    dashboard_updates.watch(me, figures, now)
    db.session.commit()
    return {"role": me.role, "computed_at": now, **figures}


@blp.route("/dashboard/stats")
@blp.authenticated("admin", "service")
@blp.arguments(StatsQuery, location="query")
@blp.response(200, StatsOut)
def show_stats(query):
    """Each admin figure for the last `period` (rolling, ending now) and the `compare` periods before it."""
    now = utcnow()
    periods = period_figures.period_stats(query["period"], query["compare"], now)
    return {"period": query["period"], "compare": query["compare"], "computed_at": now, "periods": periods}
