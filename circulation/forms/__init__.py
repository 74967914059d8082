"""Circulation forms (Flask-WTF: CSRF on every form), one module per screen family."""
