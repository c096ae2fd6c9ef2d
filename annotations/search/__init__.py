"""Search and statistics over pages and faces: parameters, planner, SQL helpers, statistics, API."""
