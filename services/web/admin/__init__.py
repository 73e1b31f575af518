"""The admin dashboard, a sub-app of the web service mounted at ``/admin``."""
