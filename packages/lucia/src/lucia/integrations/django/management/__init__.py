"""Django management commands of Lucia (``python manage.py lucia ...``)."""
